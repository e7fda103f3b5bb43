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
import { VERSION } from '../src/version.js'

const schema = JSON.parse(
  readFileSync(join(ROOT, '__tests__/fixtures/sarif/sarif-schema-2.1.0.json'), 'utf8')
)
// a CommonJS module: its class is the default export's `default`
type AjvClass = new (options: object) => {
  compile: (schema: object) => ((data: unknown) => boolean) & { errors?: unknown }
}
const Ajv = (AjvDraft04 as unknown as { default: AjvClass }).default
// the schema's formats, checked as they are defined: a URI parses, a date-time is RFC 3339
const validate = new Ajv({
  allErrors: true,
  strict: false,
  formats: {
    uri: (text: string) => URL.canParse(text),
    'uri-reference': (text: string) => URL.canParse(text, 'file:///'),
    'date-time': (text: string) =>
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(text)
  }
}).compile(schema)

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
    // one line each, the remedy in it where there is one to paste
    expect(run.results[0].message.text).toMatch(
      new RegExp(
        `^${registry.host.replace(/\./g, '\\.')}/library/python:3\\.12-slim changed under its tag: PYTHON_VERSION 3\\.12\\.2 → 3\\.12\\.3\\. Keep the known-good image: FROM \\S+@sha256:[0-9a-f]{64} AS app$`
      )
    )
    expect(run.results.filter(r => r.message.text.includes('\n'))).toEqual([])
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

  // GitHub's code scanning asks each rule for a full description and help, and a tool version
  // (docs: "SARIF support for code scanning", supported reportingDescriptor properties)
  it("gives every rule what GitHub's code scanning shows: descriptions, help, its own README section", async () => {
    expect((await check('--sarif', 'rules.sarif')).status).toBe(1)
    const log = JSON.parse(readFileSync(join(dir, 'rules.sarif'), 'utf8')) as {
      runs: {
        tool: {
          driver: {
            semanticVersion: string
            rules: {
              fullDescription: { text: string }
              help: { text: string; markdown: string }
              helpUri: string
            }[]
          }
        }
      }[]
    }
    const { driver } = log.runs[0].tool
    expect(driver.semanticVersion).toBe(VERSION)
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const anchors = new Set(
      [...readme.matchAll(/^#+ (.+)$/gm)].map(m =>
        m[1]
          .toLowerCase()
          .replace(/[^\w\- ]/g, '')
          .replace(/ /g, '-')
      )
    )
    for (const rule of driver.rules) {
      expect(rule.fullDescription.text.length).toBeGreaterThan(20)
      expect(rule.help.markdown).toContain(rule.help.text)
      // the README says what the alert's help says, in the rule's own section
      expect(readme).toContain(rule.help.text)
      expect(anchors).toContain(new URL(rule.helpUri).hash.slice(1))
    }
    expect(new Set(driver.rules.map(r => r.helpUri)).size).toBe(driver.rules.length)
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
