import { execFileSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { createServer } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseReference } from '../src/reference/reference.js'
import { RegistryError } from '../src/registry/transport/errors.js'
import { RegistryClient, type RegistryClientOptions } from '../src/registry/remote.js'
import { FaultProxy, RecordingServer } from './harness/fault-proxy.js'
import { close, listen } from './harness/ports.js'
import { TestRegistry } from './harness/registry.js'
import { startFaultyRegistry, stopFaultyRegistry } from './helpers/faulty-registry.js'
import { CLI, runNode } from './helpers/run.js'

const FAST: RegistryClientOptions = { timeoutMs: 1000, baseDelayMs: 10, maxDelayMs: 50 }

/** A registry, or something posing as one, that attacks the client: it must hold, per reference. */
describe('a hostile registry', () => {
  const registry = new TestRegistry()
  let proxy: FaultProxy
  let digest = ''
  let client: RegistryClient | null = null
  const image = () => parseReference(`${proxy.host}/library/app:v1`)
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected a RegistryError')
      },
      (error: unknown) => error as RegistryError
    )

  beforeAll(async () => ({ proxy, digest } = await startFaultyRegistry(registry)))
  afterAll(() => stopFaultyRegistry(registry, proxy))
  beforeEach(() => proxy.reset())
  afterEach(async () => {
    await client?.close()
    client = null
  })

  it('never sends credentials to a host it was redirected to, even when that host asks for them', async () => {
    const elsewhere = await new RecordingServer().start()
    try {
      const other = `127.0.0.1:${elsewhere.port}`
      elsewhere.response = {
        status: 401,
        headers: {
          'WWW-Authenticate': `Bearer realm="http://${other}/token",service="${other}"`
        },
        body: Buffer.from('{"errors":[{"code":"UNAUTHORIZED"}]}')
      }
      proxy.inject({
        path: /manifests/,
        status: 307,
        headers: { Location: `http://${other}/v2/library/app/manifests/v1` },
        times: 20
      })
      client = new RegistryClient({
        ...FAST,
        registryAuth: { [proxy.host]: { username: 'ci', password: 'registry-password' } }
      })
      const error = await failure(client.digest(image()))
      expect(error.kind).toBe('unauthorized')
      expect(error.message).toBe(
        `${proxy.host} redirected to ${other}, which asked for credentials (HTTP 401); credentials for ${proxy.host} are never sent to another host`
      )
      expect(elsewhere.seen.length).toBeGreaterThan(0)
      expect(elsewhere.seen.filter(r => r.authorization !== undefined)).toEqual([])
      expect(elsewhere.seen.filter(r => r.path.startsWith('/token'))).toEqual([])
    } finally {
      await elsewhere.stop()
    }
  })

  it('follows at most 5 redirects', async () => {
    proxy.inject({
      path: /manifests/,
      status: 307,
      headers: { Location: `http://${proxy.host}/v2/library/app/manifests/v1` },
      times: 100
    })
    client = new RegistryClient({ ...FAST, maxRetries: 0 })
    const error = await failure(client.digest(image()))
    expect(error.message).toBe(
      `${proxy.host}: more than 5 redirects for http://${proxy.host}/v2/library/app/manifests/v1`
    )
    expect(proxy.seen.filter(r => r.method === 'HEAD')).toHaveLength(6)
  })

  it('bounds a whole request by the timeout: a manifest dripped a byte at a time is cut off', async () => {
    proxy.inject({ method: 'HEAD', path: /manifests/, status: 405 })
    proxy.inject({ method: 'GET', path: /manifests/, dripMs: 200 })
    client = new RegistryClient({ ...FAST, maxRetries: 0 })
    const started = Date.now()
    const error = await failure(client.digest(image()))
    // the whole manifest would take minutes at this pace
    expect(Date.now() - started).toBeLessThan(3000)
    expect(error.kind).toBe('timeout')
    expect(error.message).toBe(`${proxy.host}: no complete answer within 1 s (input timeout)`)
  })

  it('stops asking when the run is out of time, retries and Retry-After included', async () => {
    client = new RegistryClient({ ...FAST, runTimeoutMs: 1500 })
    // a Retry-After longer than the run is not waited for
    proxy.inject({ method: 'HEAD', status: 429, headers: { 'Retry-After': '30' } })
    const started = Date.now()
    expect((await failure(client.digest(image()))).kind).toBe('rate-limited')
    expect(Date.now() - started).toBeLessThan(1000)
    // a registry that never answers: each try is cut at the timeout, and the run at its limit
    proxy.inject({ stallMs: 3000, times: 100 })
    expect((await failure(client.digest(image()))).kind).toBe('timeout')
    expect(Date.now() - started).toBeLessThan(2500)
    const late = await failure(client.digest(image()))
    expect(late.message).toBe(
      `${proxy.host}: not asked, the run's time limit of 1.5 s (10 × timeout) has passed`
    )
  })

  it('ignores the Content-Length of a HEAD, however large: there is no body', async () => {
    proxy.inject({
      method: 'HEAD',
      path: /manifests/,
      status: 200,
      headers: { 'Content-Length': String(64 * 1024 * 1024) }
    })
    client = new RegistryClient(FAST)
    // no digest header on that HEAD: the manifest is read instead
    expect(await client.digest(image())).toBe(digest)
  })

  it('never takes a 200 that is not a manifest for a digest', async () => {
    proxy.inject({
      method: 'HEAD',
      path: /manifests/,
      status: 200,
      headers: {
        'Content-Type': 'text/html',
        'Docker-Content-Digest': `sha256:${'e'.repeat(64)}`
      }
    })
    proxy.inject({
      method: 'GET',
      path: /manifests/,
      status: 200,
      headers: { 'Content-Type': 'text/html' },
      body: '<html><body>Sign in to continue</body></html>'
    })
    client = new RegistryClient(FAST)
    const error = await failure(client.digest(image()))
    expect(error.kind).toBe('bad-response')
    expect(error.message).toBe(`the manifest of ${proxy.host}/library/app:v1 is not valid JSON`)
  })

  describe('through the CLI', () => {
    let dir = ''
    const check = (...args: string[]) =>
      runNode(CLI, ['check', '--json', ...args], {
        cwd: dir,
        env: { PATH: process.env.PATH, HOME: dir }
      })
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'bid-hostile-'))
      writeFileSync(join(dir, 'Dockerfile'), `FROM ${proxy.host}/library/app:v1\n`)
    })
    afterEach(() => rmSync(dir, { recursive: true, force: true }))

    it('refuses a redirect from https to http, and exits 4 from resolve', async () => {
      // a registry with TLS on this machine: 0.0.0.0 reaches loopback, and is not spoken to in plain HTTP
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=test']
          .concat(['-addext', 'subjectAltName=IP:0.0.0.0'])
          .concat(['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]),
        { stdio: 'ignore' }
      )
      const elsewhere = await new RecordingServer().start()
      const tls = createServer(
        { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
        (_, res) => res.writeHead(307, { Location: `http://127.0.0.1:${elsewhere.port}/v2/` }).end()
      )
      const port = await listen(tls)
      try {
        writeFileSync(join(dir, 'Dockerfile'), `FROM 0.0.0.0:${port}/library/app:v1\n`)
        const ran = await runNode(CLI, ['resolve', '--json', 'Dockerfile'], {
          cwd: dir,
          env: { PATH: process.env.PATH, HOME: dir, NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') }
        })
        expect(ran.status).toBe(4)
        expect(JSON.parse(ran.stdout).references[0].error).toBe(
          `0.0.0.0:${port}/library/app:v1: 0.0.0.0:${port} redirected https to http (127.0.0.1:${elsewhere.port}); refused: a redirect never changes the scheme`
        )
        expect(elsewhere.seen).toEqual([])
      } finally {
        await close(tls)
        await elsewhere.stop()
      }
    })

    it('a HEAD with a huge Content-Length neither crashes the run nor leaves a temporary file', async () => {
      proxy.inject({
        method: 'HEAD',
        path: /manifests/,
        status: 200,
        headers: { 'Content-Length': String(64 * 1024 * 1024) },
        times: 5
      })
      const ran = await check('--update')
      expect(ran.status).toBe(0)
      expect(JSON.parse(ran.stdout).findings[0]).toMatchObject({ status: 'new', digest })
      expect(readdirSync(dir).sort()).toEqual(['.base-image-drift.json', 'Dockerfile'])
    })

    it('a login page instead of a manifest is an error of that reference, never recorded', async () => {
      proxy.inject({
        path: /manifests/,
        status: 200,
        headers: { 'Content-Type': 'text/html' },
        body: '<html>Sign in</html>',
        times: 20
      })
      const ran = await check('--update')
      // the only image could not be checked: the run fails (on-error auto) and records nothing
      expect(ran.status).toBe(1)
      expect(JSON.parse(ran.stdout).findings[0]).toMatchObject({
        status: 'error',
        errorKind: 'bad-response'
      })
      expect(existsSync(join(dir, '.base-image-drift.json'))).toBe(false)
    })

    it('a baseline that cannot be written is named, and no temporary file is left', async () => {
      // a directory where the lockfile should be: reading it fails, and so does writing it
      mkdirSync(join(dir, 'locked'))
      const ran = await check('--baseline', 'locked', '--accept', '--update')
      expect(ran.status).toBe(3)
      expect(ran.stderr).toMatch(/could not write the baseline locked \(/)
      expect(ran.stderr).not.toContain('.tmp')
      expect(readdirSync(dir).sort()).toEqual(['Dockerfile', 'locked'])
    })
  })
})
