import { parseReference } from '../src/reference/reference.js'
import { RegistryError } from '../src/registry/transport/errors.js'
import { RegistryClient, type RegistryClientOptions } from '../src/registry/remote.js'
import { resolveAll } from '../src/resolve/resolve.js'
import { FaultProxy, RecordingServer } from './harness/fault-proxy.js'
import { ImagePusher } from './harness/images.js'
import { freePort } from './harness/ports.js'
import { TestRegistry } from './harness/registry.js'
import { startFaultyRegistry, stopFaultyRegistry } from './helpers/faulty-registry.js'
import { found } from './helpers/references.js'

const FAST: RegistryClientOptions = { timeoutMs: 3000, baseDelayMs: 10, maxDelayMs: 50 }

describe('a registry that misbehaves (fault-injecting proxy in front of the real one)', () => {
  const registry = new TestRegistry({ auth: 'token' })
  let proxy: FaultProxy
  let digest = ''
  let client: RegistryClient
  const image = () => parseReference(`${proxy.host}/library/app:v1`)

  beforeAll(async () => ({ proxy, digest } = await startFaultyRegistry(registry)))
  afterAll(() => stopFaultyRegistry(registry, proxy))
  beforeEach(() => {
    proxy.reset()
    client = new RegistryClient(FAST)
  })
  afterEach(() => client.close())

  const manifestCalls = () =>
    proxy.seen.filter(r => r.path.includes('/manifests/')).map(r => r.method)

  it('retries a 503 and succeeds', async () => {
    proxy.inject({ method: 'HEAD', status: 503 })
    expect(await client.digest(image())).toBe(digest)
    expect(client.stats.retries).toBe(1)
  })

  it('waits out a 429 with Retry-After in seconds', async () => {
    proxy.inject({ method: 'HEAD', status: 429, headers: { 'Retry-After': '1' } })
    const started = Date.now()
    expect(await client.digest(image())).toBe(digest)
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000)
  })

  it('waits out a 429 with Retry-After as an HTTP date', async () => {
    proxy.inject({
      method: 'HEAD',
      status: 429,
      headers: { 'Retry-After': new Date(Date.now() + 2000).toUTCString() }
    })
    const started = Date.now()
    expect(await client.digest(image())).toBe(digest)
    // the date has one-second precision: at least a second is left to wait
    expect(Date.now() - started).toBeGreaterThanOrEqual(900)
  })

  it('says the registry is rate limiting when 429 outlasts the retries', async () => {
    proxy.inject({
      method: 'HEAD',
      status: 429,
      times: 5,
      headers: { 'ratelimit-remaining': '0;w=21600' }
    })
    const error = await client.digest(image()).catch(e => e as RegistryError)
    expect(error).toBeInstanceOf(RegistryError)
    expect((error as RegistryError).message).toBe(
      `${proxy.host} is rate limiting pulls of ${proxy.host}/library/app:v1 (HTTP 429 after retries); remaining quota 0`
    )
    expect(client.stats.rateLimitRemaining).toEqual({ [proxy.host]: 0 })
  })

  it('retries a reset connection', async () => {
    proxy.inject({ method: 'HEAD', reset: true })
    expect(await client.digest(image())).toBe(digest)
    expect(client.stats.retries).toBe(1)
  })

  it('gives up on a stall at the timeout, then retries', async () => {
    const impatient = new RegistryClient({ ...FAST, timeoutMs: 300 })
    try {
      proxy.inject({ method: 'HEAD', stallMs: 1500 })
      const started = Date.now()
      expect(await impatient.digest(image())).toBe(digest)
      expect(Date.now() - started).toBeLessThan(1500)
      proxy.inject({ method: 'HEAD', stallMs: 1500, times: 5 })
      const error = (await impatient.digest(image()).catch(e => e)) as RegistryError
      expect(error.kind).toBe('timeout')
      expect(error.message).toBe(`${proxy.host}: no complete answer within 0.3 s (input timeout)`)
    } finally {
      await impatient.close()
    }
  })

  it('names the registry when nothing listens there', async () => {
    const port = await freePort()
    const error = (await client
      .digest(parseReference(`127.0.0.1:${port}/library/app:v1`))
      .catch(e => e)) as RegistryError
    expect(error.kind).toBe('network')
    expect(error.message).toBe(
      `127.0.0.1:${port}: connection failed (ECONNREFUSED); check that this runner can reach the registry`
    )
    expect(client.stats.retries).toBe(4)
    const [[, resolution]] = await resolveAll([found(`127.0.0.1:${port}/library/app:v1`)], client)
    expect(resolution).toEqual({
      failure: {
        kind: 'network',
        registry: `127.0.0.1:${port}`,
        message: `127.0.0.1:${port}/library/app:v1: 127.0.0.1:${port}: connection failed (ECONNREFUSED); check that this runner can reach the registry`
      }
    })
  })

  it('falls back to GET and hashes the bytes when HEAD has no Docker-Content-Digest', async () => {
    proxy.inject({ method: 'HEAD', dropHeader: 'docker-content-digest', times: 2 })
    expect(await client.digest(image())).toBe(digest)
    expect(manifestCalls().slice(-2)).toEqual(['HEAD', 'GET'])
  })

  it('falls back to GET when HEAD is answered 405', async () => {
    proxy.inject({ method: 'HEAD', path: /manifests/, status: 405, times: 2 })
    expect(await client.digest(image())).toBe(digest)
    expect(manifestCalls().slice(-1)).toEqual(['GET'])
  })

  it('refuses a GET whose body does not match its digest header', async () => {
    proxy.inject({ method: 'HEAD', path: /manifests/, status: 405, times: 2 })
    proxy.inject({ method: 'GET', path: /manifests/, corruptBody: true, times: 2 })
    const error = (await client.digest(image()).catch(e => e)) as RegistryError
    expect(error.kind).toBe('bad-digest')
    expect(error.message).toMatch(
      new RegExp(
        `^${proxy.host}: ${proxy.host}/library/app:v1 came with Docker-Content-Digest ${digest} but its bytes hash to sha256:[a-f0-9]{64}$`
      )
    )
  })

  it('reports a manifest that is not JSON as an error of that reference', async () => {
    proxy.inject({ method: 'GET', path: /manifests/, bodyBytes: 100, times: 2 })
    const [[, resolution]] = await resolveAll([found(`${proxy.host}/library/app:v1`)], client, [
      'linux/amd64'
    ])
    expect(resolution).toEqual({
      failure: {
        kind: 'bad-response',
        registry: proxy.host,
        message: `the manifest of ${proxy.host}/library/app:v1 is not valid JSON`
      }
    })
  })

  it('refuses a 5 MiB manifest', async () => {
    proxy.inject({ method: 'HEAD', path: /manifests/, status: 405, times: 2 })
    proxy.inject({ method: 'GET', path: /manifests/, bodyBytes: 5 * 1024 * 1024, times: 2 })
    const error = (await client.digest(image()).catch(e => e)) as RegistryError
    expect(error.kind).toBe('too-large')
    expect(error.message).toBe(
      `${proxy.host}: /v2/library/app/manifests/v1 is larger than the 4 MiB limit; refused`
    )
  })

  it('follows a redirect to another host without sending it the Authorization header', async () => {
    const elsewhere = await new RecordingServer().start()
    try {
      await client.digest(image()) // the client knows the challenge now and sends its token first
      proxy.reset()
      proxy.inject({ method: 'HEAD', path: /manifests/, status: 405, times: 2 })
      proxy.inject({
        method: 'GET',
        path: /manifests/,
        times: 2,
        redirectTo: stored => {
          elsewhere.response = stored
          return `http://127.0.0.1:${elsewhere.port}/blobs-cdn/manifest`
        }
      })
      expect(await client.digest(image())).toBe(digest)
      const toRegistry = proxy.seen.filter(
        r => r.method === 'GET' && r.path.includes('/manifests/')
      )
      expect(toRegistry.at(-1)?.authorization).toMatch(/^Bearer /)
      expect(elsewhere.seen).toEqual([
        { method: 'GET', path: '/blobs-cdn/manifest', authorization: undefined }
      ])
    } finally {
      await elsewhere.stop()
    }
  })

  it('keeps open requests to a registry within the per-registry limit on kept-alive connections, and asks once per distinct reference', async () => {
    const pusher = new ImagePusher(registry)
    const pushed = await pusher.pushImage('library/many', {}, { tag: 't0' })
    for (let i = 1; i < 100; i++) await pusher.tag('library/many', `t${i}`, pushed.digest)
    proxy.reset()
    proxy.latencyMs = 20
    try {
      const references = Array.from({ length: 100 }, (_, i) =>
        found(`${proxy.host}/library/many:t${i}`, i + 1)
      )
      const duplicates = Array.from({ length: 20 }, (_, i) =>
        found(`${proxy.host}/library/many:t0`, 200 + i)
      )
      const results = await resolveAll([...references, ...duplicates], client)
      expect(results.size).toBe(100)
      expect([...results.values()].every(r => 'digest' in r && r.digest === pushed.digest)).toBe(
        true
      )
      expect(manifestCalls()).toHaveLength(101) // 100 distinct, plus the 401 that taught the challenge
      // 32 at first, one more per 32 answers without a busy one
      expect(proxy.maxInFlight).toBeLessThanOrEqual(client.stats.limitedTo[proxy.host])
      expect(proxy.maxInFlight).toBeGreaterThan(8)
      // keep-alive, HEAD included: connections are reused, not opened per request
      // (a connection per request would be 101; undici keeps at most 64 per registry)
      expect(proxy.connections).toBeLessThanOrEqual(64)
    } finally {
      proxy.latencyMs = 0
    }
  })
  it('halves its concurrency when the registry answers 429/503, and grows it back on success', async () => {
    const pusher = new ImagePusher(registry)
    const pushed = await pusher.pushImage('library/busy', {}, { tag: 't0' })
    for (let i = 1; i < 60; i++) await pusher.tag('library/busy', `t${i}`, pushed.digest)
    const references = Array.from({ length: 60 }, (_, i) =>
      found(`${proxy.host}/library/busy:t${i}`, i + 1)
    )
    proxy.reset()
    proxy.latencyMs = 20
    try {
      await client.digest(image()) // learn the challenge first
      proxy.inject({ method: 'HEAD', path: /busy/, status: 503, times: 10 })
      const busy = await resolveAll(references, client)
      expect([...busy.values()].every(r => 'digest' in r)).toBe(true)
      // halved from 32 to 16 by the burst, then a little grown by the successes after it
      const backedOff = client.stats.limitedTo[proxy.host]
      expect(backedOff).toBeLessThan(24)
      proxy.reset()
      await resolveAll(references, client)
      await resolveAll(references, client)
      expect(client.stats.limitedTo[proxy.host]).toBeGreaterThan(backedOff)
      // never more open than the limit allowed at the time
      expect(proxy.maxInFlight).toBeLessThanOrEqual(client.stats.limitedTo[proxy.host])
    } finally {
      proxy.latencyMs = 0
    }
  })
})
