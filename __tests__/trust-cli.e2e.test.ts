import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ImagePusher } from './harness/images.js'
import { TestRegistry } from './harness/registry.js'
import { CLI, runNode } from './helpers/run.js'

/** The gate never forgets a known-good digest: through `check`, against the real registry. */
describe('check never forgets a known-good digest', () => {
  const registry = new TestRegistry()
  let dir = ''
  let image = ''
  const check = (...args: string[]) =>
    runNode(CLI, ['check', '--json', ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir }
    })
  const statuses = (ran: { stdout: string }) =>
    (JSON.parse(ran.stdout).findings as { file: string; status: string; image: string }[]).map(
      f => `${f.file} ${f.status}`
    )
  const rebuild = (version: string) =>
    new ImagePusher(registry).pushImage(
      'library/python',
      { env: [`V=${version}`] },
      { tag: '3.12' }
    )

  beforeAll(async () => {
    await registry.start()
    image = `${registry.host}/library/python:3.12`
  })
  afterAll(() => registry.stop())
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bid-trust-'))
    await rebuild('1')
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it.each([
    [
      'a Compose file with a YAML error',
      'compose.yaml',
      `services:\n  db:\n    image: ${'IMAGE'}\n`,
      'services:\n  db: [\n'
    ],
    ['a binary Dockerfile', 'Dockerfile', 'FROM IMAGE\n', 'FROM \0IMAGE\n'],
    [
      'an oversized Dockerfile',
      'Dockerfile',
      'FROM IMAGE\n',
      'FROM IMAGE\n' + '#'.repeat(1024 * 1024)
    ],
    [
      'a FROM whose ARG has no value',
      'Dockerfile',
      'ARG BASE=IMAGE\nFROM $BASE\n',
      'ARG BASE\nFROM $BASE\n'
    ]
  ])(
    '%s keeps its entries; fixed after upstream moved, the image is drifted, not new',
    async (_, file, good, broken) => {
      const write = (text: string) =>
        writeFileSync(join(dir, file), text.replaceAll('IMAGE', image))
      write(good)
      expect((await check('--update')).status).toBe(0)

      write(broken)
      const failing = await check('--update')
      expect(failing.status).toBe(0)
      expect(statuses(failing)).toEqual([`${file} error`])
      expect(
        Object.keys(JSON.parse(readFileSync(join(dir, '.base-image-drift.json'), 'utf8')).images)
      ).toEqual([image])
      expect((await check('--on-error', 'fail')).status).toBe(1)

      await rebuild('2')
      write(good)
      const fixed = await check('--update')
      expect(fixed.status).toBe(1)
      expect(statuses(fixed)).toEqual([`${file} drifted`])
    }
  )

  it.each([
    [
      'git merge-conflict markers',
      '{\n<<<<<<< HEAD\n"images": {}\n=======\n>>>>>>> main\n}\n',
      'has a git merge-conflict marker on line 2: resolve the conflict'
    ],
    [
      'a key not in normal form',
      JSON.stringify({
        schema: 'https://github.com/base-image-drift/base-image-drift/baseline',
        version: 1,
        images: { 'python:3.12': { digest: `sha256:${'a'.repeat(64)}` } }
      }),
      'has image "python:3.12", which is not in normalized form (docker.io/library/python:3.12)'
    ],
    [
      'a newer version',
      JSON.stringify({
        schema: 'https://github.com/base-image-drift/base-image-drift/baseline',
        version: 9,
        images: {}
      }),
      'was written by a newer base-image-drift (baseline version 9; this one reads version 1): upgrade base-image-drift'
    ]
  ])(
    'a baseline with %s stops the run with exit 3 and is left as it is, until --accept --update replaces it',
    async (_, text, why) => {
      writeFileSync(join(dir, 'Dockerfile'), `FROM ${image}\n`)
      const path = join(dir, '.base-image-drift.json')
      writeFileSync(path, text)
      const refused = await check('--update')
      expect(refused.status).toBe(3)
      expect(refused.stderr).toBe(
        `base-image-drift: the baseline cannot be used: ${path} ${why}. It was left as it is; fix it, or accept this run's digests as the new baseline (input accept: true, or --accept --update)\n`
      )
      expect(readFileSync(path, 'utf8')).toBe(text)

      const replaced = await runNode(CLI, ['check', '--accept', '--update'], {
        cwd: dir,
        env: { PATH: process.env.PATH, HOME: dir }
      })
      expect(replaced.status).toBe(0)
      expect(replaced.stdout).toContain(
        `Replaced the baseline in .base-image-drift.json, which could not be used (${path} ${why}), with this run's digests.`
      )
      expect(Object.keys(JSON.parse(readFileSync(path, 'utf8')).images)).toEqual([image])
    }
  )

  it('resolves Compose anchors, aliases and merge keys as Compose does, and warns about the legacy format', async () => {
    writeFileSync(
      join(dir, 'compose.yaml'),
      [
        'x-base: &base',
        `  image: ${registry.host}/library/a:1`,
        'x-worker: &worker',
        `  image: ${registry.host}/library/b:1`,
        `x-img: &img ${registry.host}/library/c:1`,
        'services:',
        '  api:',
        '    <<: *base',
        '  worker: *worker',
        '  cron:',
        '    image: *img',
        ''
      ].join('\n')
    )
    writeFileSync(join(dir, 'docker-compose.legacy.yml'), `web:\n  image: ${image}\n`)
    const ran = await check()
    const images = (JSON.parse(ran.stdout).findings as { image: string }[]).map(f => f.image)
    expect(images.sort()).toEqual(['a', 'b', 'c'].map(n => `${registry.host}/library/${n}:1`))
    expect(ran.stderr).toBe(
      'warning: docker-compose.legacy.yml:1: services at the top level (the legacy Compose format) are not scanned: put them under `services:`\n'
    )
  })
})
