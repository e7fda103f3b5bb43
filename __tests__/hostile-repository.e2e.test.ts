import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CLI, runNode } from './helpers/run.js'

/**
 * A pull request controls the files in the repository, and so where its symbolic links and
 * Compose builds point. Nothing outside the scanned directory is read, or echoed.
 */
describe('a repository that points outside itself', () => {
  let outside = ''
  let dir = ''
  const SECRET = 'root:x:0:0:the-secret-line'
  const scan = (...args: string[]) =>
    runNode(CLI, ['scan', '--json', ...args], { cwd: dir, env: { PATH: process.env.PATH } })

  beforeEach(() => {
    outside = mkdtempSync(join(tmpdir(), 'bid-outside-'))
    writeFileSync(join(outside, 'passwd'), `${SECRET}\nFROM secret/image:1\n`)
    writeFileSync(join(outside, '.env'), `TAG=${SECRET}\n`)
    dir = mkdtempSync(join(tmpdir(), 'bid-repo-'))
  })
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true })
    rmSync(outside, { recursive: true, force: true })
  })

  it('does not read a Dockerfile that is a link to a file outside, and says so on that file', async () => {
    symlinkSync(join(outside, 'passwd'), join(dir, 'Dockerfile'))
    writeFileSync(join(dir, 'app.Dockerfile'), 'FROM alpine:3.20\n')
    const ran = await scan()
    expect(ran.stdout + ran.stderr).not.toContain('the-secret-line')
    expect(ran.stdout + ran.stderr).not.toContain('secret/image')
    expect(JSON.parse(ran.stdout).references.map((r: { image: string }) => r.image)).toEqual([
      'docker.io/library/alpine:3.20'
    ])
    expect(ran.stderr).toBe('error: Dockerfile: not read: it leads outside the scanned directory\n')
  })

  it('does not read a Dockerfile that a Compose service builds from outside, and names the service', async () => {
    writeFileSync(
      join(dir, 'compose.yaml'),
      `services:\n  web:\n    build:\n      context: ${outside}\n      dockerfile: passwd\n  api:\n    build:\n      context: ../${outside.split('/').pop()}\n      dockerfile: passwd\n`
    )
    const ran = await scan()
    expect(ran.stdout + ran.stderr).not.toContain('the-secret-line')
    expect(ran.stdout + ran.stderr).not.toMatch(/ROOT:X/i)
    expect(ran.stderr).toBe(
      [
        'error: compose.yaml:4: service "web" builds a Dockerfile outside the scanned directory; not read',
        'error: compose.yaml:8: service "api" builds a Dockerfile outside the scanned directory; not read',
        ''
      ].join('\n')
    )
  })

  it("does not read a Compose file's .env that links outside", async () => {
    symlinkSync(join(outside, '.env'), join(dir, '.env'))
    writeFileSync(join(dir, 'compose.yaml'), 'services:\n  web:\n    image: app:${TAG:-1}\n')
    const ran = await scan()
    expect(ran.stdout + ran.stderr).not.toContain('the-secret-line')
    expect(JSON.parse(ran.stdout).references[0].image).toBe('docker.io/library/app:1')
    expect(ran.stderr).toBe('error: .env: not read: it leads outside the scanned directory\n')
  })

  it('scans a Dockerfile that is a link inside the repository, once, under the path that matched', async () => {
    mkdirSync(join(dir, 'docker'))
    mkdirSync(join(dir, 'api'))
    writeFileSync(join(dir, 'docker', 'base.df'), 'FROM python:3.12-slim\n')
    symlinkSync('../docker/base.df', join(dir, 'api', 'Dockerfile'))
    // the same file reached twice: through a link and directly
    writeFileSync(join(dir, 'web.Dockerfile'), 'FROM node:22\n')
    symlinkSync('web.Dockerfile', join(dir, 'Dockerfile'))
    const ran = await scan()
    expect(ran.stderr).toBe('')
    expect(
      JSON.parse(ran.stdout).references.map((r: { file: string; image: string }) => [
        r.file,
        r.image
      ])
    ).toEqual([
      ['Dockerfile', 'docker.io/library/node:22'],
      ['api/Dockerfile', 'docker.io/library/python:3.12-slim']
    ])
  })
})

/**
 * The committed baseline is a file of the pull request too: read through the same rules as
 * every other file (inside the workspace, links resolved; a regular file; bounded), and an
 * error about it never quotes what it holds.
 */
describe('a lockfile that is not what it says', () => {
  let outside = ''
  let dir = ''
  const TOKEN = 'ghp_the0secret0token0of0the0runner'
  const check = () =>
    runNode(CLI, ['check', '--json'], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir }
    })
  beforeEach(() => {
    outside = mkdtempSync(join(tmpdir(), 'bid-outside-'))
    writeFileSync(join(outside, 'token'), `${TOKEN}\n`)
    dir = mkdtempSync(join(tmpdir(), 'bid-repo-'))
    // no image to ask a registry for: the baseline is all there is to read
    writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\n')
  })
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true })
    rmSync(outside, { recursive: true, force: true })
  })

  it.each([
    ['a link to a file outside the workspace', 'leads outside'],
    ['a link to /dev/zero', 'leads outside'],
    ['a link to a FIFO inside the workspace', 'not a regular file'],
    ['not JSON, holding a secret', 'is not valid JSON']
  ])('%s: refused, saying why, its content never shown', async (what, why) => {
    const lockfile = join(dir, '.base-image-drift.json')
    if (what.includes('outside')) symlinkSync(join(outside, 'token'), lockfile)
    else if (what.includes('/dev/zero')) symlinkSync('/dev/zero', lockfile)
    else if (what.includes('FIFO')) {
      execFileSync('mkfifo', [join(dir, 'pipe')])
      symlinkSync(join(dir, 'pipe'), lockfile)
    } else writeFileSync(lockfile, `{"schema": ${TOKEN}}\n`)
    const ran = await check()
    expect(ran.stdout + ran.stderr).not.toContain(TOKEN)
    expect(ran.stderr).toContain('.base-image-drift.json')
    expect(ran.stderr).toContain(why)
    expect(ran.status).toBe(3)
  })
})
