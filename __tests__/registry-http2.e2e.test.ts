import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ImagePusher } from './harness/images.js'
import { TestRegistry } from './harness/registry.js'
import { TlsFront, type FrontProtocol } from './harness/tls-front.js'
import { CLI, NODES, runNode } from './helpers/run.js'

// Public registries serve TLS and offer HTTP/2; the real registry here speaks plain HTTP/1.1,
// so a TLS front stands where their load balancers do.
describe('over TLS, HTTP/2 where the registry offers it, HTTP/1.1 where it does not', () => {
  const registry = new TestRegistry()
  let dir = ''
  const pushed = new Map<string, string>()
  let front: TlsFront | null = null

  const frontOf = async (protocol: FrontProtocol) => {
    front = await new TlsFront(registry.url, dir, protocol).start()
    // enough latency that the requests overlap
    front.latencyMs = 20
    return front
  }
  const cli = (args: string[], tls: TlsFront, node?: string) =>
    runNode(CLI, args, {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, NODE_EXTRA_CA_CERTS: tls.certPath },
      node
    })
  const dockerfile = (tls: TlsFront) =>
    writeFileSync(
      join(dir, 'Dockerfile'),
      [...pushed.keys()].map(name => `FROM ${tls.host}/${name}`).join('\n') + '\n'
    )

  beforeAll(async () => {
    await registry.start()
    const pusher = new ImagePusher(registry)
    for (let r = 0; r < 4; r++)
      for (let t = 0; t < 5; t++) {
        const name = `team/app-${r}:v${t}`
        const image = await pusher.pushImage(
          `team/app-${r}`,
          { env: [`APP=${r}.${t}`] },
          { tag: `v${t}` }
        )
        pushed.set(name, image.digest)
      }
  })
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bid-http2-'))
  })
  afterEach(async () => {
    await front?.stop()
    front = null
    rmSync(dir, { recursive: true, force: true })
  })
  afterAll(() => registry.stop())

  const versions = (tls: TlsFront) => tls.seen.map(r => r.version)
  const digestsOf = (stdout: string) =>
    Object.fromEntries(
      JSON.parse(stdout).references.map((r: { image: string; digest: string | null }) => [
        r.image.slice(r.image.indexOf('/') + 1),
        r.digest
      ])
    )

  it.each(NODES)(
    'resolves 20 references as HTTP/2 streams on one TLS connection, under %s',
    async (_, node) => {
      const tls = await frontOf('h2')
      dockerfile(tls)
      const ran = await cli(['resolve', '--json', 'Dockerfile'], tls, node)
      expect(ran.stderr).toBe('')
      expect(ran.status).toBe(0)
      expect(digestsOf(ran.stdout)).toEqual(Object.fromEntries(pushed))
      expect(versions(tls)).toHaveLength(20)
      expect(new Set(versions(tls))).toEqual(new Set(['2.0']))
      expect(tls.connections).toBe(1)
      expect(tls.maxInFlightPerConnection).toBeGreaterThan(1)
    }
  )

  it('when the HTTP/2 connection is cut with streams open, asks again on a new one', async () => {
    const tls = await frontOf('h2')
    tls.cutAfter = 8
    dockerfile(tls)
    const ran = await cli(['resolve', '--json', 'Dockerfile'], tls)
    expect(ran.status).toBe(0)
    expect(digestsOf(ran.stdout)).toEqual(Object.fromEntries(pushed))
    // the streams cut were asked again, on a new connection, still as HTTP/2
    expect(tls.seen.length).toBeGreaterThan(20)
    expect(tls.connections).toBeGreaterThanOrEqual(2)
    expect(new Set(versions(tls))).toEqual(new Set(['2.0']))
  })

  it('bounds each HTTP/2 stream by the timeout: a registry that never answers costs the run limit', async () => {
    const tls = await frontOf('h2')
    tls.latencyMs = 60_000
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${tls.host}/team/app-0:v0\n`)
    const started = Date.now()
    const ran = await cli(['resolve', '--json', '--timeout', '0.2', 'Dockerfile'], tls)
    expect(ran.status).toBe(4)
    expect(JSON.parse(ran.stdout).references[0].error).toContain(
      `${tls.host}: no complete answer within 0.2 s (input timeout)`
    )
    // 10 × the timeout for the whole run, retries included
    expect(Date.now() - started).toBeLessThan(4_000)
  })

  it('over HTTP/1.1 alone, sends one request per connection at a time, connections in parallel', async () => {
    const tls = await frontOf('http/1.1')
    dockerfile(tls)
    const ran = await cli(['resolve', '--json', 'Dockerfile'], tls)
    expect(ran.status).toBe(0)
    expect(digestsOf(ran.stdout)).toEqual(Object.fromEntries(pushed))
    expect(new Set(versions(tls))).toEqual(new Set(['1.1']))
    expect(tls.maxInFlightPerConnection).toBe(1)
    expect(tls.connections).toBeGreaterThan(1)
  })

  it('finds and explains a drift over HTTP/2: manifests and config blobs read as streams', async () => {
    const tls = await frontOf('h2')
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${tls.host}/team/drifting:1\n`)
    const pusher = new ImagePusher(registry)
    await pusher.pushImage('team/drifting', { env: ['TOOL_VERSION=1.4.0'] }, { tag: '1' })
    expect((await cli(['check', '--update'], tls)).status).toBe(0)
    await pusher.pushImage('team/drifting', { env: ['TOOL_VERSION=1.5.0'] }, { tag: '1' })
    const ran = await cli(['check', '--json'], tls)
    expect(ran.status).toBe(1)
    expect(JSON.parse(ran.stdout).findings[0]).toMatchObject({
      status: 'drifted',
      explanation: { env: [{ name: 'TOOL_VERSION', before: '1.4.0', after: '1.5.0' }] }
    })
    expect(new Set(versions(tls))).toEqual(new Set(['2.0']))
  })
})
