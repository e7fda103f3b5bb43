import { isListening } from './harness/ports.js'
import { ImagePusher, MEDIA } from './harness/images.js'
import { PUSHER, TestRegistry, type AuthMode } from './harness/registry.js'

const ACCEPT = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerList, MEDIA.dockerManifest].join(
  ', '
)

describe.each<AuthMode>(['anonymous', 'basic', 'token'])('the real registry in %s mode', mode => {
  const registry = new TestRegistry({ auth: mode })
  let ports: number[] = []

  beforeAll(async () => {
    await registry.start()
    ports = [registry.port, registry.tokenServer?.port ?? 0].filter(Boolean)
  })

  afterAll(async () => {
    await registry.stop()
    for (const port of ports) expect(await isListening(port)).toBe(false)
    expect(() => process.kill(registry.pid, 0)).toThrow(/ESRCH/)
  })

  it('serves a pushed image by tag with its digest, and moves and deletes tags', async () => {
    const pusher = new ImagePusher(registry)
    const first = await pusher.pushImage('library/app', { env: ['A=1'] }, { tag: 'v1' })
    const second = await pusher.pushImage('library/app', { env: ['A=2'] }, { flavour: 'docker' })
    const headers = await authHeaders(registry, 'library/app')
    const head = () =>
      fetch(`${registry.url}/v2/library/app/manifests/v1`, {
        method: 'HEAD',
        headers: { ...headers, Accept: ACCEPT }
      })

    expect((await head()).headers.get('docker-content-digest')).toBe(first.digest)
    await pusher.tag('library/app', 'v1', second.digest)
    const moved = await head()
    expect(moved.headers.get('docker-content-digest')).toBe(second.digest)
    expect(moved.headers.get('content-type')).toBe(MEDIA.dockerManifest)
    await pusher.deleteTag('library/app', 'v1')
    expect((await head()).status).toBe(404)
  })

  it('serves multi-platform indexes with attestation entries', async () => {
    const pusher = new ImagePusher(registry)
    const index = await pusher.pushIndex(
      'team/base',
      'latest',
      { 'linux/amd64': { env: ['X=1'] }, 'linux/arm64/v8': { env: ['X=1'] } },
      { attestations: true }
    )
    const res = await fetch(`${registry.url}/v2/team/base/manifests/latest`, {
      headers: { ...(await authHeaders(registry, 'team/base')), Accept: ACCEPT }
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('docker-content-digest')).toBe(index.digest)
    const body = (await res.json()) as { manifests: { platform: { architecture: string } }[] }
    expect(body.manifests.map(m => m.platform.architecture)).toEqual([
      'amd64',
      'unknown',
      'arm64',
      'unknown'
    ])
  })

  if (mode !== 'anonymous') {
    it('refuses an unauthenticated pull with a challenge', async () => {
      const res = await fetch(`${registry.url}/v2/library/app/manifests/v1`, { method: 'HEAD' })
      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toMatch(
        mode === 'basic'
          ? /^Basic realm="bid-basic-realm"/
          : /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/token",service="bid-test-registry",scope="repository:library\/app:pull"/
      )
    })
  }
})

/** Pull credentials the way a plain client gets them: Basic as is; an anonymous Bearer token. */
async function authHeaders(registry: TestRegistry, repo: string): Promise<Record<string, string>> {
  if (registry.mode === 'basic') {
    return {
      Authorization:
        'Basic ' + Buffer.from(`${PUSHER.username}:${PUSHER.password}`).toString('base64')
    }
  }
  if (registry.mode === 'token') {
    const server = registry.tokenServer!
    const res = await fetch(
      `${server.realm}?service=${server.service}&scope=repository:${repo}:pull`
    )
    const { token } = (await res.json()) as { token: string }
    return { Authorization: `Bearer ${token}` }
  }
  return {}
}
