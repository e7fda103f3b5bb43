import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { promisify } from 'node:util'
import { FaultProxy } from './harness/fault-proxy.js'
import { ImagePusher } from './harness/images.js'
import { TestRegistry } from './harness/registry.js'
import { CLI, runNode } from './helpers/run.js'

describe('check in a terminal tells what changed', () => {
  const registry = new TestRegistry()
  let dir = ''
  const run = (...args: string[]) =>
    runNode(CLI, ['check', ...args], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir } })

  beforeAll(async () => {
    await registry.start()
    dir = mkdtempSync(join(tmpdir(), 'bid-check-'))
    const pusher = new ImagePusher(registry)
    await pusher.pushImage(
      'library/node',
      { env: ['NODE_VERSION=20.18.0'], history: ['ADD alpine-minirootfs-3.20.3-x86_64.tar.gz /'] },
      { tag: 'lts' }
    )
    await pusher.pushImage('library/ruby', { env: ['RUBY_VERSION=3.3.5'] }, { tag: '3.3' })
    writeFileSync(
      join(dir, 'compose.yaml'),
      `services:\n  web:\n    image: ${registry.host}/library/node:lts\n  jobs:\n    image: ${registry.host}/library/ruby:3.3\n`
    )
    expect((await run('--update')).status).toBe(0)
  })
  afterAll(async () => {
    await registry.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('prints the explanation and the pin line, and carries the explanation in --json', async () => {
    const pusher = new ImagePusher(registry)
    const old = await run('--json')
    const oldDigest = JSON.parse(old.stdout).findings[0].digest
    await pusher.pushImage(
      'library/node',
      { env: ['NODE_VERSION=22.11.0'], history: ['ADD alpine-minirootfs-3.21.0-x86_64.tar.gz /'] },
      { tag: 'lts' }
    )
    const text = await run()
    expect(text.status).toBe(1)
    expect(text.stdout).toContain(
      `compose.yaml:3: ${registry.host}/library/node:lts changed under its tag`
    )
    expect(text.stdout).toContain(
      '  what changed (linux/amd64): Alpine 3.20.3 → 3.21.0; NODE_VERSION 20.18.0 → 22.11.0'
    )
    expect(text.stdout).toContain('    the base OS release changed: the most severe kind of drift')
    expect(text.stdout).toContain(
      `  keep the known-good image:  image: ${registry.host}/library/node:lts@${oldDigest}`
    )
    // the report on stdout; why it fails on stderr
    expect(text.stderr).toContain(
      'FAIL: 1 image changed under its tag since the last successful build'
    )
    expect(text.stdout).not.toContain('FAIL:')
    const json = JSON.parse((await run('--json')).stdout)
    expect(json.findings[0].explanation).toMatchObject({
      severity: 'os',
      os: { before: 'Alpine 3.20.3', after: 'Alpine 3.21.0' },
      env: [{ name: 'NODE_VERSION', before: '20.18.0', after: '22.11.0' }]
    })
  })

  it("shows the pulls left where the registry says (Docker Hub's ratelimit-remaining)", async () => {
    const proxy = await new FaultProxy(registry.url).start()
    try {
      writeFileSync(join(dir, 'Dockerfile'), `FROM ${proxy.host}/library/node:lts\n`)
      proxy.inject({
        method: 'HEAD',
        addHeaders: { 'ratelimit-remaining': '76;w=21600' },
        times: 5
      })
      const text = await run('Dockerfile', '--baseline', 'other.json')
      expect(text.stdout).toContain(`rate limit: 76 pulls left on ${proxy.host}`)
    } finally {
      await proxy.stop()
      rmSync(join(dir, 'Dockerfile'))
    }
  })

  it('says so when the old image can no longer be fetched, and gives the digests', async () => {
    const pusher = new ImagePusher(registry)
    const before = JSON.parse((await run('--json')).stdout).findings.find((f: { image: string }) =>
      f.image.endsWith('ruby:3.3')
    )
    await pusher.deleteTag('library/ruby', '3.3') // deletes the recorded manifest
    await pusher.pushImage('library/ruby', { env: ['RUBY_VERSION=3.3.6'] }, { tag: '3.3' })
    const text = await run()
    expect(text.stdout).toContain(`  was ${before.previous}`)
    expect(text.stdout).toMatch(
      new RegExp(
        `what changed is not known: the old image ${before.previous} can no longer be fetched from ${registry.host.replace(/\./g, '\\.')} \\(.*HTTP 404[^)]*\\)\\); only the digests are known`
      )
    )
  })
})

describe("check's advice runs as printed", () => {
  const registry = new TestRegistry()
  let dir = ''
  const env = () => ({ PATH: process.env.PATH, HOME: dir })
  const check = (...args: string[]) =>
    runNode(CLI, ['check', 'svc', '--baseline', 'locks/base.json', ...args], {
      cwd: dir,
      env: env()
    })
  beforeAll(async () => {
    await registry.start()
    dir = mkdtempSync(join(tmpdir(), 'bid-advice-'))
    mkdirSync(join(dir, 'svc'))
    mkdirSync(join(dir, 'locks'))
    writeFileSync(join(dir, 'svc', 'Dockerfile'), `FROM ${registry.host}/library/alpine:3\n`)
    await new ImagePusher(registry).pushImage('library/alpine', { env: ['V=1'] }, { tag: '3' })
    expect((await check('--update')).status).toBe(0)
    await new ImagePusher(registry).pushImage('library/alpine', { env: ['V=2'] }, { tag: '3' })
  })
  afterAll(async () => {
    await registry.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('repeats the path and flags the run used; --accept alone says nothing was recorded; the advice, run, records it', async () => {
    const drifted = await check()
    expect(drifted.status).toBe(1)
    const advice = /or accept the new one: +(.+)$/m.exec(drifted.stdout)?.[1]
    expect(advice).toBe(
      `node ${relative(dir, CLI)} check svc --baseline locks/base.json --accept --update`
    )
    const before = readFileSync(join(dir, 'locks', 'base.json'), 'utf8')
    const once = await check('--accept')
    expect(once.status).toBe(0)
    expect(once.stdout).toContain(
      `Accepted for this run only: ${registry.host}/library/alpine:3; nothing was recorded. To record it: ${advice}`
    )
    expect(readFileSync(join(dir, 'locks', 'base.json'), 'utf8')).toBe(before)
    // as a user pastes it into a shell
    const ran = await promisify(execFile)('sh', ['-c', advice!], { cwd: dir, env: env() })
    expect(ran.stdout).toContain(
      `Accepted and recorded in locks/base.json: ${registry.host}/library/alpine:3.`
    )
    expect((await check()).status).toBe(0)
  })
})
