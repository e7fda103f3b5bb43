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
