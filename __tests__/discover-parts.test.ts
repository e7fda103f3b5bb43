import { discoverDirectory } from './helpers/references.js'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatReference } from '../src/reference/reference.js'
import { READ_ORDER, SOURCES } from '../src/sources/index.js'
import { RepositoryReader } from '../src/sources/read/read-file.js'
import { selectFiles } from '../src/sources/read/select.js'

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
    const found = await discoverDirectory(root)
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

describe('how large a file may be', () => {
  let root: string
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'bid-size-'))))
  afterEach(() => rmSync(root, { recursive: true, force: true }))
  const scan = () => discoverDirectory(root)

  it('a release manifest of megabytes, mostly CRDs, is read; its images are found', async () => {
    // a controller's install.yaml: CRDs with long OpenAPI schemas, then the Deployment
    const schema = `          description: ${'The desired state of the resource. '.repeat(60)}\n`
    const crd = (n: number) =>
      `apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: thing${n}s.acme.io\nspec:\n  versions:\n    - name: v1\n      schema:\n        openAPIV3Schema:\n${schema.repeat(30)}`
    const crds = Array.from({ length: 50 }, (_, n) => crd(n)).join('---\n')
    const deployment =
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: manager }\nspec:\n  template:\n    spec:\n      containers:\n        - name: manager\n          image: ghcr.io/acme/manager:v2.1.0\n'
    const text = `${crds}---\n${deployment}`
    expect(text.length).toBeGreaterThan(3 * 1024 * 1024)
    writeFileSync(join(root, 'install.yaml'), text)
    const found = await scan()
    expect(found.errors).toEqual([])
    expect(found.references.map(r => [r.line, r.image && formatReference(r.image)])).toEqual([
      [text.split('\n').length - 1, 'ghcr.io/acme/manager:v2.1.0']
    ])
  })

  it('past its limit a file is one error, said once however many builds read it', async () => {
    writeFileSync(
      join(root, 'compose.yaml'),
      `services:\n  web:\n    build: .\n    labels:\n${'      - padding\n'.repeat(80_000)}`
    )
    writeFileSync(join(root, 'Dockerfile'), `FROM alpine:3.20\n${'# padding\n'.repeat(110_000)}`)
    writeFileSync(join(root, 'huge.yaml'), `# ${'x'.repeat(16 * 1024 * 1024)}\n`)
    // one workload document of megabytes: no parse of it is attempted
    writeFileSync(
      join(root, 'pod.yaml'),
      `apiVersion: v1\nkind: Pod\nmetadata:\n  annotations:\n${'    a: b\n'.repeat(200_000)}`
    )
    const found = await scan()
    expect(found.errors).toEqual([
      { file: 'Dockerfile', message: 'not scanned: larger than 1 MiB (1100017 bytes)' },
      { file: 'huge.yaml', message: 'not scanned: larger than 16 MiB (16777219 bytes)' },
      {
        file: 'compose.yaml',
        message: 'not scanned: larger than 1 MiB (1280042 bytes), the limit for a Compose file'
      },
      {
        file: 'pod.yaml',
        line: 1,
        message: 'document not scanned: larger than 1 MiB (1800050 characters)'
      }
    ])
  })
})

describe('the platform a build runs for', () => {
  let root: string
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'bid-platforms-'))))
  afterEach(() => rmSync(root, { recursive: true, force: true }))

  // BuildKit sets TARGETPLATFORM, TARGETOS, TARGETARCH and TARGETVARIANT from the platform
  // the build runs for: Compose passes a service's `platform` or its `build.platforms` (a list,
  // merged by appending across override files: compose-go override/merge.go), Buildx a Bake target's
  // `platforms` (each entry split on commas), docker/build-push-action its `platforms` input
  // (a matrix's value filled in per leg)
  it('Compose platform, Bake platforms and build-push-action platforms feed TARGETARCH and the tracked platforms', async () => {
    const dockerfile = 'ARG TARGETARCH\nFROM example/img:${TARGETARCH}\n'
    for (const dir of ['compose/multi', 'bake', 'action', 'legs'])
      mkdirSync(join(root, dir), { recursive: true })
    writeFileSync(join(root, 'compose', 'multi', 'Dockerfile'), dockerfile)
    writeFileSync(
      join(root, 'compose', 'compose.override.yaml'),
      'services:\n  multi:\n    build:\n      platforms: [linux/riscv64]\n'
    )
    writeFileSync(join(root, 'compose', 'Dockerfile'), dockerfile)
    writeFileSync(
      join(root, 'compose', 'compose.yaml'),
      'services:\n  edge:\n    build: .\n    platform: linux/arm64\n  cache:\n    image: redis:7.4\n    platform: linux/arm/v7\n  multi:\n    build:\n      context: multi\n      platforms:\n        - linux/amd64\n        - "${MULTI_ARCH:-linux/arm64}"\n'
    )
    writeFileSync(join(root, 'bake', 'Dockerfile'), dockerfile)
    writeFileSync(
      join(root, 'bake', 'docker-bake.hcl'),
      'group "default" {\n  targets = ["app"]\n}\ntarget "app" {\n  platforms = ["linux/amd64,linux/arm64"]\n}\n'
    )
    writeFileSync(join(root, 'action', 'Dockerfile'), dockerfile)
    mkdirSync(join(root, '.github', 'workflows'), { recursive: true })
    writeFileSync(
      join(root, '.github', 'workflows', 'image.yml'),
      'on: push\njobs:\n  image:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: docker/build-push-action@v6\n        with:\n          context: action\n          platforms: |\n            linux/arm64\n            linux/s390x\n'
    )
    // one leg a platform, as docker/build-push-action's multi-platform guide distributes builds
    writeFileSync(join(root, 'legs', 'Dockerfile'), dockerfile)
    writeFileSync(
      join(root, '.github', 'workflows', 'legs.yml'),
      'on: push\njobs:\n  build:\n    strategy:\n      matrix:\n        platform: [linux/amd64, linux/ppc64le]\n    runs-on: ubuntu-latest\n    steps:\n      - uses: docker/build-push-action@v6\n        with:\n          context: legs\n          platforms: ${{ matrix.platform }}\n'
    )
    const found = await discoverDirectory(root)
    expect(found.errors).toEqual([])
    expect(found.notices).toEqual([])
    expect(
      found.references
        .map(r => [r.file, r.image && formatReference(r.image), r.trackedPlatforms ?? null])
        .sort()
    ).toEqual([
      ['action/Dockerfile', 'docker.io/example/img:arm64', ['linux/arm64']],
      ['action/Dockerfile', 'docker.io/example/img:s390x', ['linux/s390x']],
      ['bake/Dockerfile', 'docker.io/example/img:amd64', ['linux/amd64']],
      ['bake/Dockerfile', 'docker.io/example/img:arm64', ['linux/arm64']],
      ['compose/Dockerfile', 'docker.io/example/img:arm64', ['linux/arm64']],
      ['compose/compose.yaml', 'docker.io/library/redis:7.4', ['linux/arm/v7']],
      ['compose/multi/Dockerfile', 'docker.io/example/img:amd64', ['linux/amd64']],
      ['compose/multi/Dockerfile', 'docker.io/example/img:arm64', ['linux/arm64']],
      ['compose/multi/Dockerfile', 'docker.io/example/img:riscv64', ['linux/riscv64']],
      ['legs/Dockerfile', 'docker.io/example/img:amd64', ['linux/amd64']],
      ['legs/Dockerfile', 'docker.io/example/img:ppc64le', ['linux/ppc64le']]
    ])
  })
})
