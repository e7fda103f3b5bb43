import { execFile } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ImagePusher } from './harness/images.js'
import { TestRegistry } from './harness/registry.js'
import { CLI, runNode } from './helpers/run.js'

describe('base-image-drift pin', () => {
  const registry = new TestRegistry()
  let dir = ''
  const known: Record<string, string> = {}
  let rebuilt = ''
  let files: Record<string, string> = {}
  const pin = (...args: string[]) =>
    runNode(CLI, ['pin', ...args], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir } })
  const text = (path: string) => readFileSync(join(dir, path), 'utf8')

  beforeAll(async () => {
    await registry.start()
    const pusher = new ImagePusher(registry)
    known.node = (
      await pusher.pushImage('library/node', { env: ['NODE=22.1'] }, { tag: '22' })
    ).digest
    known.ruby = (
      await pusher.pushImage('library/ruby', { env: ['RUBY=3.3.5'] }, { tag: '3.3' })
    ).digest
    dir = mkdtempSync(join(tmpdir(), 'bid-pin-'))
    const host = registry.host
    files = {
      // Windows line endings and a comment, kept as they are
      'compose.yaml': `services:\r\n  web:\r\n    image: '${host}/library/node:22' # the site\r\n  jobs:\r\n    image: ${host}/library/ruby:3.3\r\n`,
      Dockerfile: `ARG RUBY=3.3\nARG BASE\nFROM ${host}/library/ruby:\${RUBY} AS gems\nFROM \${BASE}\n`
    }
    for (const [path, written] of Object.entries(files)) writeFileSync(join(dir, path), written)
    // the baseline the last good build recorded
    const record = await runNode(
      CLI,
      ['check', '--update', '--build-arg', `BASE=${host}/library/node:22`],
      {
        cwd: dir,
        env: { PATH: process.env.PATH, HOME: dir }
      }
    )
    expect(record.status).toBe(0)
    rebuilt = (await pusher.pushImage('library/node', { env: ['NODE=22.2'] }, { tag: '22' })).digest
  })
  afterAll(async () => {
    await registry.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('--check exits 1 listing each reference not pinned, writing nothing', async () => {
    const checked = await pin('--check', '--build-arg', `BASE=${registry.host}/library/node:22`)
    expect(checked.status).toBe(1)
    expect(checked.stdout).toContain(
      `compose.yaml:3: ${registry.host}/library/node:22 is not pinned to a digest`
    )
    expect(checked.stdout).toMatch(/^4 references of 4 not pinned: .* pin writes the pins\.$/m)
    expect(text('compose.yaml')).toBe(files['compose.yaml'])
  })

  it('--dry-run prints the unified diff that git apply takes, and writes nothing', async () => {
    const dry = await pin('--dry-run')
    expect(dry.status).toBe(0)
    expect(dry.stdout).toContain(`-    image: '${registry.host}/library/node:22' # the site`)
    expect(dry.stdout).toContain(
      `+    image: '${registry.host}/library/node:22@${known.node}' # the site`
    )
    expect(text('compose.yaml')).toBe(files['compose.yaml'])
    // the diff applied by git gives what pin writes
    const applied = mkdtempSync(join(tmpdir(), 'bid-pin-applied-'))
    try {
      cpSync(dir, applied, { recursive: true })
      writeFileSync(join(applied, 'pins.diff'), dry.stdout)
      await promisify(execFile)('git', ['apply', '--ignore-whitespace', 'pins.diff'], {
        cwd: applied
      })
      expect((await pin()).status).toBe(0)
      for (const path of Object.keys(files))
        expect(readFileSync(join(applied, path), 'utf8').replaceAll('\r\n', '\n')).toBe(
          text(path).replaceAll('\r\n', '\n')
        )
    } finally {
      rmSync(applied, { recursive: true, force: true })
    }
  })

  it('pins to the known-good digests of the baseline, keeping quotes, comments, ARGs and line endings; says what it left', async () => {
    writeFileSync(join(dir, 'compose.yaml'), files['compose.yaml'])
    writeFileSync(join(dir, 'Dockerfile'), files.Dockerfile)
    const pinned = await pin('--build-arg', `BASE=${registry.host}/library/node:22`)
    expect(pinned.status).toBe(0)
    const host = registry.host
    expect(text('compose.yaml')).toBe(
      `services:\r\n  web:\r\n    image: '${host}/library/node:22@${known.node}' # the site\r\n  jobs:\r\n    image: ${host}/library/ruby:3.3@${known.ruby}\r\n`
    )
    expect(text('Dockerfile')).toBe(
      `ARG RUBY=3.3\nARG BASE\nFROM ${host}/library/ruby:\${RUBY}@${known.ruby} AS gems\nFROM \${BASE}\n`
    )
    expect(pinned.stderr).toContain(
      `not pinned: Dockerfile:4: ${host}/library/node:22: its image comes from ARG BASE, which has no default here: pin it where BASE is set`
    )
    expect(pinned.stderr).toContain(
      'pinned 3 references in 2 files to the digests of .base-image-drift.json; 1 left as they are'
    )
    // a second run has nothing to do
    const again = await pin('--build-arg', `BASE=${host}/library/node:22`)
    expect(again.stderr).toContain('pinned 0 references in 0 files')
  })

  it('--to current pins where each tag points now', async () => {
    mkdirSync(join(dir, 'now'))
    writeFileSync(
      join(dir, 'now/compose.yaml'),
      `services:\n  web:\n    image: ${registry.host}/library/node:22\n`
    )
    const pinned = await pin('now', '--to', 'current')
    expect(pinned.status).toBe(0)
    expect(text('now/compose.yaml')).toContain(`/library/node:22@${rebuilt}\n`)
  })

  it('names the choices of --to', async () => {
    const wrong = await pin('--to', 'latest')
    expect(wrong.status).toBe(2)
    expect(wrong.stderr).toMatch(
      /^base-image-drift: --to must be baseline or current, not "latest"$/m
    )
  })
})
