import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { discover } from '../src/sources/discover.js'
import { CLI, runNode } from './helpers/run.js'

/** Which files are searched: vendored trees never, `exclude` / `--exclude` not, files named always. */
describe('choosing the files to scan', () => {
  let dir = ''
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bid-selection-'))
    for (const [path, image] of [
      ['Dockerfile', 'alpine:3.20'],
      ['third_party/tool/Dockerfile', 'debian:12'],
      ['vendor/github.com/moby/buildkit/Dockerfile', 'busybox:1.36'],
      ['services/vendor/Dockerfile', 'nginx:1.27']
    ]) {
      mkdirSync(join(dir, dirname(path)), { recursive: true })
      writeFileSync(join(dir, path), `FROM ${image}\n`)
    }
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const files = async (args: string[]) => {
    const ran = await runNode(CLI, ['scan', '--json', ...args], { cwd: dir })
    expect(ran.stderr).toBe('')
    return (JSON.parse(ran.stdout).references as { file: string }[]).map(r => r.file)
  }

  it('never searches vendor/ (vendored Go modules), as node_modules', async () => {
    expect(await files(['.'])).toEqual(['Dockerfile', 'third_party/tool/Dockerfile'])
  })

  it('--exclude leaves out what it names from the search, but a file named is read', async () => {
    expect(await files(['--exclude', 'third_party/**', '.'])).toEqual(['Dockerfile'])
    expect(
      await files(['--exclude', '**/Dockerfile', 'vendor/github.com/moby/buildkit/Dockerfile'])
    ).toEqual(['vendor/github.com/moby/buildkit/Dockerfile'])
  })

  it('the exclude globs of the action, and a files entry without glob characters read wherever it is', async () => {
    const found = async (globs: string[], exclude: string[] = []) =>
      (
        await discover({
          cwd: dir,
          select: { globs, exclude },
          buildArgs: {},
          targetPlatforms: ['linux/amd64'],
          buildPlatform: 'linux/amd64',
          variables: {},
          secrets: []
        })
      ).files
    expect(await found(['**/Dockerfile'], ['third_party/**'])).toEqual(['Dockerfile'])
    expect(await found(['**/Dockerfile', 'services/vendor/Dockerfile'])).toEqual([
      'Dockerfile',
      'services/vendor/Dockerfile',
      'third_party/tool/Dockerfile'
    ])
  })
})

describe('what a Dockerfile is called', () => {
  let dir = ''
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bid-names-'))
    for (const [path, text] of [
      // built with `docker build -f Dockerfile-debug .`, as BuildKit users name variants
      ['Dockerfile-debug', 'FROM alpine:3.20\n'],
      ['tools/chroot-Dockerfile', 'FROM debian:12\n'],
      // moby's man page of the Dockerfile format, and a Go test beside it: FROM lines, no builds
      ['man/Dockerfile.5.md', '# Dockerfile 5\n\nFROM image\nFROM --platform=x y\n'],
      ['frontend/Dockerfile.go', 'package dockerfile\n// FROM the parser\n']
    ]) {
      mkdirSync(join(dir, dirname(path)), { recursive: true })
      writeFileSync(join(dir, path), text)
    }
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const scan = async (args: string[]) => {
    const ran = await runNode(CLI, ['scan', '--json', ...args], { cwd: dir })
    const json = JSON.parse(ran.stdout) as { references: { file: string }[] }
    return { files: json.references.map(r => r.file), problems: ran.stderr }
  }

  it('Dockerfile-* and *-Dockerfile are found; documentation and source files never are, unless named', async () => {
    expect(await scan(['.'])).toEqual({
      files: ['Dockerfile-debug', 'tools/chroot-Dockerfile'],
      problems: ''
    })
    expect((await scan(['man/Dockerfile.5.md'])).files).toEqual([
      'man/Dockerfile.5.md',
      'man/Dockerfile.5.md'
    ])
  })
})

describe('every way of naming what to scan', () => {
  let root = ''
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'bid-paths-'))
    mkdirSync(join(root, 'app'))
    mkdirSync(join(root, 'ci'))
    writeFileSync(
      join(root, 'app', 'compose.yaml'),
      'services:\n  web:\n    build: .\n  db:\n    image: postgres:16\n'
    )
    writeFileSync(join(root, 'app', 'Dockerfile'), 'FROM python:3.12-slim\n')
    symlinkSync(join(root, 'app'), join(root, 'linked'))
  })
  afterAll(() => rmSync(root, { recursive: true, force: true }))

  it.each([
    ['app', ''],
    ['./app/', ''],
    ['app/compose.yaml', ''],
    ['<root>/app', ''],
    ['linked', ''],
    ['../app', 'ci'],
    ['../app/compose.yaml', 'ci'],
    ['<root>/app', 'ci'],
    ['../linked', 'ci']
  ])('%s, from %j, finds the same references', async (path, from) => {
    const ran = await runNode(CLI, ['scan', '--json', path.replace('<root>', root)], {
      cwd: join(root, from)
    })
    expect(ran.stderr).toBe('')
    const found = (
      JSON.parse(ran.stdout).references as { file: string; line: number; image: string }[]
    ).map(r => [r.file.replace(/^.*?(?:app|linked)\//, ''), r.line, r.image])
    expect(found).toEqual([
      ['Dockerfile', 1, 'docker.io/library/python:3.12-slim'],
      ['compose.yaml', 5, 'docker.io/library/postgres:16']
    ])
  })
})

describe("a chart's own image key", () => {
  let root = ''
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'bid-helm-key-'))
    mkdirSync(join(root, 'chart'))
    writeFileSync(join(root, 'chart', 'Chart.yaml'), 'apiVersion: v2\nname: mesh\nversion: 1.0.0\n')
    writeFileSync(
      join(root, 'chart', 'values.yaml'),
      'proxyImg:\n  repository: acme/proxy\n  tag: "2.4"\nimage:\n  repository: acme/mesh\n  tag: "1.0"\n'
    )
  })
  afterAll(() => rmSync(root, { recursive: true, force: true }))

  it('is read when --helm-image-key names it, and only then', async () => {
    const images = async (args: string[]) =>
      (
        JSON.parse((await runNode(CLI, ['scan', '--json', ...args, '.'], { cwd: root })).stdout)
          .references as { image: string }[]
      ).map(r => r.image)
    expect(await images([])).toEqual(['docker.io/acme/mesh:1.0'])
    expect(await images(['--helm-image-key', 'proxyImg'])).toEqual([
      'docker.io/acme/proxy:2.4',
      'docker.io/acme/mesh:1.0'
    ])
  })
})
