import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatReference } from '../src/reference/reference.js'
import { discover } from '../src/sources/discover.js'
import { DEFAULT_PATTERNS, READ_ORDER, SOURCES } from '../src/sources/index.js'
import { RepositoryReader } from '../src/sources/read-file.js'
import { selectFiles } from '../src/sources/select.js'

/** The parts discovery is made of, each alone: selecting files, reading them, the read order. */
describe('the parts of discovery', () => {
  let root: string
  let outside: string
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'bid-parts-'))
    outside = mkdtempSync(join(tmpdir(), 'bid-outside-'))
  })
  afterEach(() => {
    rmSync(root, { recursive: true, force: true })
    rmSync(outside, { recursive: true, force: true })
  })

  it('selecting: globs search, literal names are named (even a directory), never-searched folders stay out', async () => {
    mkdirSync(join(root, 'app'))
    mkdirSync(join(root, 'vendor', 'x'), { recursive: true })
    writeFileSync(join(root, 'app', 'Dockerfile'), 'FROM alpine\n')
    writeFileSync(join(root, 'vendor', 'x', 'Dockerfile'), 'FROM alpine\n')
    writeFileSync(join(root, 'stack.yml'), 'services: {}\n')
    const selected = await selectFiles({ globs: ['**/Dockerfile', 'stack.yml', 'app'] }, root, [])
    expect(selected.files).toEqual(['app', 'app/Dockerfile', 'stack.yml'])
    expect([...selected.named].sort()).toEqual(['app', 'stack.yml'])
    expect(selected.roots).toEqual([root])
  })

  it('reading: nothing through a link that leads outside, nothing over 1 MiB or binary; a file only looked for may be absent', () => {
    writeFileSync(join(outside, 'secret'), 'FROM secret\n')
    symlinkSync(join(outside, 'secret'), join(root, 'Dockerfile'))
    writeFileSync(join(root, 'big'), 'x'.repeat(1024 * 1024 + 1))
    writeFileSync(join(root, 'bin'), Buffer.from([70, 0, 77]))
    writeFileSync(join(root, 'ok'), 'FROM alpine\n')
    const reader = new RepositoryReader(root, [root])
    expect(reader.read('Dockerfile')).toBeNull()
    expect(reader.read('big')).toBeNull()
    expect(reader.read('bin')).toBeNull()
    expect(reader.read('.env', false)).toBeNull()
    expect(reader.read('ok')).toBe('FROM alpine\n')
    expect(reader.errors).toEqual([
      { file: 'Dockerfile', message: 'not read: it leads outside the scanned directory' },
      { file: 'big', message: 'not scanned: larger than 1 MiB (1048577 bytes)' },
      { file: 'bin', message: 'not scanned: a binary file (contains NUL bytes)' }
    ])
  })

  it('ordering: every source is read after every source that follows it', () => {
    expect([...READ_ORDER].sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      [...SOURCES].sort((a, b) => a.name.localeCompare(b.name))
    )
    for (const source of READ_ORDER)
      for (const followed of source.follows)
        if (followed !== source)
          expect(READ_ORDER.indexOf(followed)).toBeGreaterThan(READ_ORDER.indexOf(source))
  })
})

describe('a byte-order mark', () => {
  let root: string
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'bid-bom-'))))
  afterEach(() => rmSync(root, { recursive: true, force: true }))

  it('is skipped in every kind of file, as BuildKit, YAML, HCL and JSON readers skip it', async () => {
    const bom = '\ufeff'
    mkdirSync(join(root, 'web'))
    writeFileSync(join(root, 'web', 'Dockerfile'), `${bom}FROM python:3.12-slim\n`)
    writeFileSync(join(root, 'compose.yaml'), `${bom}services:\n  db:\n    image: postgres:16\n`)
    writeFileSync(
      join(root, 'docker-bake.hcl'),
      `${bom}group "default" {\n  targets = ["x"]\n}\ntarget "x" {\n  dockerfile = "web/Dockerfile"\n  contexts = { base = "docker-image://alpine:3.20" }\n}\n`
    )
    writeFileSync(
      join(root, 'deploy.yaml'),
      `${bom}apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers: [{ name: c, image: nginx:1.27 }]\n`
    )
    const found = await discover({
      cwd: root,
      select: { globs: DEFAULT_PATTERNS },
      buildArgs: {},
      targetPlatforms: ['linux/amd64'],
      buildPlatform: 'linux/amd64',
      variables: {},
      secrets: []
    })
    expect(found.errors).toEqual([])
    expect(
      found.references
        .map(r => [r.file, r.line, r.image ? formatReference(r.image) : r.error])
        .sort()
    ).toEqual([
      ['compose.yaml', 3, 'docker.io/library/postgres:16'],
      ['deploy.yaml', 5, 'docker.io/library/nginx:1.27'],
      ['docker-bake.hcl', 6, 'docker.io/library/alpine:3.20'],
      ['web/Dockerfile', 1, 'docker.io/library/python:3.12-slim']
    ])
  })
})
