import { uriOf } from '../src/report/sarif.js'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import AjvDraft04 from 'ajv-draft-04'
import { CacheService } from './harness/cache-service.js'
import { fixed } from './helpers/drift-world.js'
import { ImagePusher } from './harness/images.js'
import { TestRegistry } from './harness/registry.js'
import { ActionRunner } from './helpers/action-runner.js'
import { CLI, ROOT, runNode } from './helpers/run.js'

const schema = JSON.parse(
  readFileSync(join(ROOT, '__tests__/fixtures/sarif/sarif-schema-2.1.0.json'), 'utf8')
)
// a CommonJS module: its class is the default export's `default`
type AjvClass = new (options: object) => {
  compile: (schema: object) => ((data: unknown) => boolean) & { errors?: unknown }
}
const Ajv = (AjvDraft04 as unknown as { default: AjvClass }).default
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema)

interface SarifResult {
  ruleId: string
  level: string
  message: { text: string }
  locations: {
    physicalLocation: {
      artifactLocation: { uri: string }
      region: { startLine: number; startColumn: number }
    }
  }[]
  partialFingerprints: Record<string, string>
}

/** SARIF for code scanning, from the CLI and the action, checked against the SARIF 2.1.0 schema. */
describe('a SARIF log of the findings', () => {
  const registry = new TestRegistry()
  const cache = new CacheService()
  let dir = ''
  const check = (...args: string[]) =>
    runNode(CLI, ['check', ...args], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir } })
  const sarifOf = (path: string) => {
    const log = JSON.parse(readFileSync(path, 'utf8'))
    expect(validate(log) ? [] : validate.errors).toEqual([])
    return log as {
      runs: { tool: { driver: { rules: { id: string }[] } }; results: SarifResult[] }[]
    }
  }
  const move = (version: string) =>
    new ImagePusher(registry).pushImage(
      'library/python',
      fixed({ env: [`PYTHON_VERSION=${version}`] }),
      {
        tag: '3.12-slim'
      }
    )

  beforeAll(async () => {
    await Promise.all([registry.start(), cache.start()])
    dir = mkdtempSync(join(tmpdir(), 'bid-sarif-'))
    await move('3.12.2')
    writeFileSync(
      join(dir, 'Dockerfile'),
      `# build\nFROM ${registry.host}/library/python:3.12-slim AS app\nFROM ${registry.host}/library/missing:1\n`
    )
  })
  afterAll(async () => {
    await Promise.all([registry.stop(), cache.stop()])
    rmSync(dir, { recursive: true, force: true })
  })

  it('check --sarif: one result per finding on its line, a rule per kind, the same fingerprint next run', async () => {
    // the validator refuses what is not SARIF (a log without runs)
    expect(validate({ version: '2.1.0' })).toBe(false)
    expect((await check('--update')).status).toBe(0)
    await move('3.12.3')
    expect((await check('--sarif', 'first.sarif')).status).toBe(1)
    const [run] = sarifOf(join(dir, 'first.sarif')).runs
    expect(run.tool.driver.rules.map(r => r.id)).toEqual([
      'drifted',
      'removed-package',
      'not-checked',
      'stale-pin'
    ])
    expect(
      run.results.map(r => [
        r.ruleId,
        r.level,
        r.locations[0].physicalLocation.artifactLocation.uri,
        r.locations[0].physicalLocation.region.startLine,
        r.locations[0].physicalLocation.region.startColumn
      ])
    ).toEqual([
      ['drifted', 'error', 'Dockerfile', 2, 1],
      ['not-checked', 'warning', 'Dockerfile', 3, 1]
    ])
    expect(run.results[0].message.text).toContain(
      `${registry.host}/library/python:3.12-slim changed under its tag\nPYTHON_VERSION 3.12.2 → 3.12.3`
    )
    expect(run.results[0].message.text).toContain('Keep the known-good image: FROM ')
    // a line added above moves the finding, not its identity
    writeFileSync(
      join(dir, 'Dockerfile'),
      `# build\n# more\nFROM ${registry.host}/library/python:3.12-slim AS app\nFROM ${registry.host}/library/missing:1\n`
    )
    expect((await check('--sarif', 'second.sarif')).status).toBe(1)
    const [again] = sarifOf(join(dir, 'second.sarif')).runs
    expect(again.results[0].locations[0].physicalLocation.region.startLine).toBe(3)
    expect(again.results.map(r => r.partialFingerprints)).toEqual(
      run.results.map(r => r.partialFingerprints)
    )
  })

  it('the action writes it where the input says, valid, also when nothing drifted', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'bid-sarif-action-'))
    const runner = new ActionRunner(workspace, cache.env)
    try {
      writeFileSync(
        join(workspace, 'Dockerfile'),
        `FROM ${registry.host}/library/python:3.12-slim\n`
      )
      const job = await runner.runJob({ sarif: 'out/../drift.sarif' })
      expect(job.main.status).toBe(0)
      const [run] = sarifOf(join(workspace, 'drift.sarif')).runs
      expect(run.results).toEqual([])
    } finally {
      runner.dispose()
      rmSync(workspace, { recursive: true, force: true })
    }
  })
})

describe('SARIF artifact URIs', () => {
  it('percent-encodes each path segment (RFC 3986), so every path names its own file', () => {
    for (const path of [
      'my app/Dockerfile',
      '50%off/Dockerfile',
      'a#b/Dockerfile',
      'q?x/Dockerfile',
      'ü/a:b/Dockerfile'
    ]) {
      const uri = uriOf(path)
      expect(uri).toMatch(/^[A-Za-z0-9\-._~%/]+$/)
      const resolved = new URL(uri, 'file:///repo/')
      expect([resolved.hash, resolved.search]).toEqual(['', ''])
      expect(decodeURIComponent(resolved.pathname)).toBe(`/repo/${path}`)
    }
  })
})
