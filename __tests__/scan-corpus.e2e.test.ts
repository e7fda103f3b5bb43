import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { discover, type FileSelection } from '../src/sources/discover.js'
import { DEFAULT_PATTERNS } from '../src/sources/index.js'
import { formatReference } from '../src/reference/reference.js'
import { CLI, ROOT, runNode } from './helpers/run.js'

const CORPUS = resolve(ROOT, '__tests__/fixtures/corpus')
const cleanEnv = { PATH: process.env.PATH, MAILPIT_TAG: 'v1.21' }

describe('scan on a corpus of real-world Dockerfiles and Compose files', () => {
  it('prints the expected JSON for every file (`scan --json .`)', async () => {
    const ran = await runNode(CLI, ['scan', '--json', '--var', 'MAILPIT_TAG', '.'], {
      cwd: CORPUS,
      env: cleanEnv
    })
    expect(ran.status).toBe(0)
    const expected = JSON.parse(
      readFileSync(resolve(ROOT, '__tests__/fixtures/corpus.expected.json'), 'utf8')
    )
    expect(JSON.parse(ran.stdout)).toEqual(expected)
    expect(
      new Set(expected.references.map((r: { file: string }) => r.file)).size
    ).toBeGreaterThanOrEqual(15)
    expect(ran.stderr).toBe(
      [
        'error: deploy/Dockerfile.bin: not scanned: a binary file (contains NUL bytes)',
        'notice: .github/workflows/ci.yml:58: container: ${{ vars.BUILDER_IMAGE }} is set at run time (${{ vars.BUILDER_IMAGE }}), not checked',
        'notice: docker-bake.hcl:18: target "web": arg GIT_SHA: ${GITHUB_SHA} is not a declared variable; left out',
        ''
      ].join('\n')
    )
  })

  it('prints a readable table with errors last', async () => {
    const ran = await runNode(
      CLI,
      ['scan', 'go-cross', 'broken/Dockerfile', 'broken/unparseable.Dockerfile'],
      {
        cwd: CORPUS,
        env: cleanEnv
      }
    )
    expect(ran.status).toBe(0)
    const lines = ran.stdout.split('\n')
    expect(lines[0]).toMatch(/^FILE:LINE\s+KIND\s+IMAGE\s+STAGE\s+PLATFORM$/)
    expect(lines[1]).toMatch(/^go-cross\/Dockerfile:1\s+syntax\s+docker\.io\/docker\/dockerfile:1$/)
    expect(lines[2]).toMatch(
      /^go-cross\/Dockerfile:6\s+from\s+docker\.io\/tonistiigi\/xx:1\.5\.0\s+xx\s+\$BUILDPLATFORM$/
    )
    expect(ran.stdout).toContain(
      '4 references could not be determined:\n  broken/Dockerfile:2  from  FROM ${BASE}\n    error: variable BASE is not set and has no default'
    )
    // a FROM BuildKit cannot parse fails that file's build: its error alone, no stage as an image
    expect(ran.stdout).toContain(
      '  broken/unparseable.Dockerfile:2  from  FROM node:20 AS\n    error: FROM takes IMAGE [AS name], not "node:20 AS"\n\n8 image references (4 with errors)'
    )
  })
})

describe('bad input', () => {
  let dir: string
  const scan = (files: string[], variables: Record<string, string> = {}) =>
    discover({
      cwd: dir,
      select: { globs: files },
      buildArgs: {},
      targetPlatforms: [],
      buildPlatform: 'linux/amd64',
      variables,
      secrets: []
    })
  const filesOf = async (select: FileSelection) =>
    (
      await discover({
        cwd: dir,
        select,
        buildArgs: {},
        targetPlatforms: [],
        buildPlatform: 'linux/amd64',
        variables: {},
        secrets: []
      })
    ).files
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bid-scan-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('reports a file over 1 MiB, a binary file and an unreadable one as one error each', async () => {
    writeFileSync(join(dir, 'Dockerfile.big'), 'FROM alpine\n' + '#'.repeat(1024 * 1024))
    writeFileSync(join(dir, 'Dockerfile.bin'), Buffer.from([0x46, 0x52, 0x00, 0x01]))
    mkdirSync(join(dir, 'Dockerfile.dir'))
    writeFileSync(join(dir, 'Dockerfile'), 'FROM alpine:3.20\n')
    const result = await scan(['Dockerfile', 'Dockerfile.big', 'Dockerfile.bin', 'Dockerfile.dir'])
    expect(result.references).toHaveLength(1)
    expect(result.errors).toEqual([
      { file: 'Dockerfile.big', message: 'not scanned: larger than 1 MiB (1048588 bytes)' },
      { file: 'Dockerfile.bin', message: 'not scanned: a binary file (contains NUL bytes)' },
      { file: 'Dockerfile.dir', message: 'not scanned: a directory, not a file' }
    ])
  })

  it('interpolates Compose files with the .env beside them, the environment taking precedence', async () => {
    mkdirSync(join(dir, 'deploy'))
    writeFileSync(
      join(dir, 'deploy', 'compose.yaml'),
      'services:\n  db:\n    image: postgres:${PG_TAG}\n  cache:\n    image: ${CACHE_IMAGE}\n'
    )
    writeFileSync(
      join(dir, 'deploy', '.env'),
      '# versions\nPG_TAG=16.4 # pinned minor\nexport CACHE_IMAGE="redis:7-alpine"\n'
    )
    const result = await scan(['deploy/compose.yaml'], { PG_TAG: '17.0' })
    expect(result.references.map(r => r.image && formatReference(r.image))).toEqual([
      'docker.io/library/postgres:17.0',
      'docker.io/library/redis:7-alpine'
    ])
    expect(result.warnings).toEqual([])
  })

  it('reports an error when a Compose service builds a Dockerfile that is not there', async () => {
    writeFileSync(join(dir, 'compose.yaml'), 'services:\n  app:\n    build: ./missing\n')
    const result = await scan(['compose.yaml'])
    expect(result.errors).toEqual([
      {
        file: 'compose.yaml',
        line: 3,
        message: 'service "app" builds missing/Dockerfile, which does not exist'
      }
    ])
  })

  it('reports invalid YAML with file and line, through the CLI', async () => {
    writeFileSync(
      join(dir, 'docker-compose.yml'),
      'services:\n  web:\n    image: nginx\n  bad: [\n'
    )
    const ran = await runNode(CLI, ['scan', '--json', dir], { cwd: dir })
    expect(ran.status).toBe(0)
    expect(JSON.parse(ran.stdout)).toEqual({ references: [] })
    expect(ran.stderr).toMatch(/^error: docker-compose\.yml:5: invalid YAML, file not scanned: /)
  })

  it('finds files by the default patterns and by the action input globs', async () => {
    for (const name of [
      'Dockerfile',
      'Dockerfile.prod',
      'app.Dockerfile',
      'x.dockerfile',
      'Containerfile',
      'Containerfile.dev',
      'compose.yml',
      'compose.yaml',
      'compose.ci.yml',
      'docker-compose.yaml',
      'docker-compose.dev.yml',
      'README.md',
      'notes.yml'
    ]) {
      mkdirSync(join(dir, 'sub'), { recursive: true })
      writeFileSync(
        join(dir, 'sub', name),
        /\.ya?ml$/.test(name) ? 'services:\n  a:\n    image: alpine\n' : 'FROM alpine\n'
      )
    }
    for (const never of ['.git', 'node_modules/pkg']) {
      mkdirSync(join(dir, never), { recursive: true })
      writeFileSync(join(dir, never, 'Dockerfile'), 'FROM nope\n')
    }
    expect(await filesOf({ globs: DEFAULT_PATTERNS })).toEqual(
      [
        'Containerfile',
        'Containerfile.dev',
        'Dockerfile',
        'Dockerfile.prod',
        'app.Dockerfile',
        'compose.ci.yml',
        'compose.yaml',
        'compose.yml',
        'docker-compose.dev.yml',
        'docker-compose.yaml',
        'x.dockerfile'
      ].map(n => `sub/${n}`)
    )
    expect(await filesOf({ globs: ['**/notes.yml'] })).toEqual(['sub/notes.yml'])
    const all = await filesOf({ paths: ['.'] })
    expect(all).toContain('sub/Dockerfile')
    expect(all).not.toContain('node_modules/pkg/Dockerfile')
    expect(await filesOf({ paths: ['sub/README.md'] })).toEqual(['sub/README.md'])
  })
})

describe('files a workflow names', () => {
  it('reads the Bake files docker/bake-action is given, whatever their names, and what they build', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bid-bake-action-'))
    try {
      mkdirSync(join(dir, '.github/workflows'), { recursive: true })
      mkdirSync(join(dir, 'ci'))
      mkdirSync(join(dir, 'app'))
      writeFileSync(
        join(dir, '.github/workflows/release.yml'),
        'jobs:\n  release:\n    steps:\n      - uses: docker/bake-action@v5\n        with:\n          workdir: ci\n          files: |\n            release.hcl\n            missing.hcl\n'
      )
      writeFileSync(
        join(dir, 'ci/release.hcl'),
        'target "app" {\n  context = "../app"\n  args = { NODE = "22" }\n}\n'
      )
      writeFileSync(join(dir, 'app/Dockerfile'), 'ARG NODE=20\nFROM node:${NODE}-alpine\n')
      const ran = await runNode(CLI, ['scan', '--json'], {
        cwd: dir,
        env: { PATH: process.env.PATH }
      })
      expect(
        JSON.parse(ran.stdout).references.map(
          (r: { file: string; image: string; builtBy?: string }) => [r.file, r.image, r.builtBy]
        )
      ).toEqual([['app/Dockerfile', 'docker.io/library/node:22-alpine', 'bake target "app"']])
      expect(ran.stderr).toBe(
        'error: .github/workflows/release.yml:4: job "release" step 1 (docker/bake-action) names ci/missing.hcl, which does not exist\n'
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
