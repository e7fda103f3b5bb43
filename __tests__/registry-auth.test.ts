import { Authenticator } from '../src/registry/auth.js'
import { Keychain } from '../src/registry/credentials.js'
import type { HttpRequest, HttpResponse } from '../src/registry/transport/transport.js'

const REGISTRY = 'r.example'
const manifest = (repository: string) => `https://${REGISTRY}/v2/${repository}/manifests/1`
const BEARER = `Bearer realm="https://auth.example/token",service="${REGISTRY}"`

/**
 * A registry and its token service, scripted as the layer under the authenticator: it
 * answers as the Docker token protocol does (401 with a challenge, a token per scope), and
 * records what it was sent.
 */
class ScriptedRegistry {
  readonly sent: { url: string; authorization: string | undefined }[] = []
  /** Tokens the registry takes; one taken out of it is refused, as an expired one is. */
  readonly valid = new Set<string>()
  /** The challenge a refused token is answered with; the Bearer one when not said. */
  rechallenge: string | null = null
  /** Basic credentials the registry takes itself. */
  basic: string | null = null
  private issued = 0

  readonly next = async (request: HttpRequest): Promise<HttpResponse> => {
    this.sent.push({ url: request.url, authorization: request.authorization })
    // a turn of the event loop, as a network round trip is: requests meet in flight
    await new Promise(resolve => setImmediate(resolve))
    if (request.url.startsWith('https://auth.example/token')) {
      const token = `t${++this.issued}`
      this.valid.add(token)
      return answer(200, request.url, {}, JSON.stringify({ token, expires_in: 300 }))
    }
    const given = request.authorization ?? ''
    if (given.startsWith('Bearer ') && this.valid.has(given.slice('Bearer '.length)))
      return answer(200, request.url)
    if (this.basic !== null && given === this.basic) return answer(200, request.url)
    const challenge = given.startsWith('Bearer ') && this.rechallenge ? this.rechallenge : BEARER
    return answer(401, request.url, { 'www-authenticate': challenge })
  }

  tokenRequests(): string[] {
    return this.sent
      .filter(s => s.url.startsWith('https://auth.example/'))
      .map(s => new URL(s.url).searchParams.get('scope') ?? '')
  }
}

function answer(
  status: number,
  url: string,
  headers: Record<string, string> = {},
  body = ''
): HttpResponse {
  return { status, url, headers, body: Buffer.from(body) }
}

// The Docker token protocol (distribution docs/spec/auth/token.md): a 401 names the realm and
// service; a token is asked per scope and used until expires_in; a refused one is asked again
describe('the authenticator over a scripted registry', () => {
  let registry: ScriptedRegistry
  let auth: Authenticator
  const send = (repository: string) =>
    auth.send(REGISTRY, repository, { method: 'HEAD', url: manifest(repository) })
  beforeEach(() => {
    registry = new ScriptedRegistry()
    auth = new Authenticator(
      registry.next,
      new Keychain({ registryAuth: { [REGISTRY]: { username: 'ci', password: 'secret' } } })
    )
  })

  it('asks one token per repository and uses it until it is refused', async () => {
    expect((await send('a')).status).toBe(200)
    expect((await send('a')).status).toBe(200)
    expect((await send('b')).status).toBe(200)
    expect(registry.tokenRequests()).toEqual(['repository:a:pull', 'repository:b:pull'])
    // the registry no longer takes a's token (it expired early): asked again, once
    registry.valid.delete('t1')
    expect((await send('a')).status).toBe(200)
    expect(registry.tokenRequests()).toEqual([
      'repository:a:pull',
      'repository:b:pull',
      'repository:a:pull'
    ])
  })

  it('sends the first request alone to learn the challenge; the others wait and share the token', async () => {
    const answers = await Promise.all(Array.from({ length: 5 }, () => send('a')))
    expect(answers.map(a => a.status)).toEqual([200, 200, 200, 200, 200])
    const unauthenticated = registry.sent.filter(
      s => s.url.includes('/manifests/') && s.authorization === undefined
    )
    expect(unauthenticated).toHaveLength(1)
    expect(registry.tokenRequests()).toEqual(['repository:a:pull'])
  })

  it('answers a switch to Basic after a refused token with Basic, and keeps to it', async () => {
    const basic = 'Basic ' + Buffer.from('ci:secret').toString('base64')
    registry.basic = basic
    registry.rechallenge = 'Basic realm="harbor"'
    // the token it issues opens nothing: a Bearer is refused, Basic is taken
    registry.valid.clear()
    const next = registry.next
    const refusing = async (request: HttpRequest) => {
      const answered = await next(request)
      if (request.url.startsWith('https://auth.example/')) registry.valid.clear()
      return answered
    }
    auth = new Authenticator(
      refusing,
      new Keychain({ registryAuth: { [REGISTRY]: { username: 'ci', password: 'secret' } } })
    )
    expect((await send('a')).status).toBe(200)
    expect((await send('b')).status).toBe(200)
    const toRegistry = registry.sent
      .filter(s => s.url.startsWith(`https://${REGISTRY}/`))
      .map(s => s.authorization?.split(' ')[0] ?? 'none')
    // learned, refused, answered; then Basic at once
    expect(toRegistry).toEqual(['none', 'Bearer', 'Basic', 'Basic'])
  })
})
