/**
 * Registry authentication: answers WWW-Authenticate challenges (Bearer tokens per scope, Basic),
 * sending credentials only to the host they belong to.
 */
import type { Credential, Keychain } from './credentials.js'
import { isRecord } from '../json.js'
import { RegistryError } from './transport/errors.js'
import type { HttpRequest, HttpResponse } from './transport/transport.js'
import type { RoundTripper } from './transport/http.js'

/** A parsed `WWW-Authenticate` challenge. */
export interface Challenge {
  scheme: 'basic' | 'bearer'
  params: Record<string, string>
}

/** How much of a challenge header is read: real ones are a few hundred characters. */
const MAX_CHALLENGE_CHARS = 8192
const TOKEN_CHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/

/**
 * The challenge to answer from `WWW-Authenticate` (one header, or several joined by commas):
 * Bearer with a realm first, else Basic, else a Bearer without one (which is said to be
 * unusable); null when none is of a scheme spoken here. Gitea sends a Bearer and a Basic
 * header for private owners, Forgejo both in one: the Bearer's realm is never the Basic's.
 */
export function parseChallenge(header: string | undefined): Challenge | null {
  const challenges = parseChallenges(header ?? '')
  const of = (scheme: Challenge['scheme']): Challenge[] =>
    challenges.flatMap(c => (c.scheme === scheme ? [{ scheme, params: c.params }] : []))
  return of('bearer').find(c => c.params.realm) ?? of('basic')[0] ?? of('bearer')[0] ?? null
}

/**
 * RFC 9110 §11.6.1: `challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]`, challenges
 * and parameters separated by commas, parameter values tokens or quoted strings with `\`
 * escapes, names case-insensitive (the first of a name counts). One pass, bounded.
 */
function parseChallenges(header: string): { scheme: string; params: Record<string, string> }[] {
  const text = header.slice(0, MAX_CHALLENGE_CHARS)
  const challenges: { scheme: string; params: Record<string, string> }[] = []
  let current: (typeof challenges)[number] | null = null
  let at = 0
  const spaces = () => {
    while (text[at] === ' ' || text[at] === '\t') at++
  }
  const token = () => {
    const start = at
    while (at < text.length && TOKEN_CHAR.test(text[at])) at++
    return text.slice(start, at)
  }
  while (at < text.length) {
    spaces()
    const name = token()
    if (name === '') {
      at++
      continue
    }
    spaces()
    if (text[at] === '=' && current) {
      at++
      spaces()
      let value = ''
      if (text[at] === '"') {
        for (at++; at < text.length && text[at] !== '"'; at++) {
          if (text[at] === '\\' && at + 1 < text.length) at++
          value += text[at]
        }
        at++
      } else value = token()
      const key = name.toLowerCase()
      if (!Object.hasOwn(current.params, key)) current.params[key] = value
      continue
    }
    current = { scheme: name.toLowerCase(), params: {} }
    challenges.push(current)
  }
  return challenges
}

/**
 * The response, unless it is a 401 from a host the request was redirected to: a challenge
 * is trusted only from the registry's own host, or its credentials would go to the other.
 */
function challengeFrom(req: HttpRequest, response: HttpResponse): HttpResponse {
  // the same URL (no redirect) is the common case: no parsing for it
  if (response.status !== 401 || response.url === req.url) return response
  const asked = new URL(req.url).host
  const answered = new URL(response.url).host
  if (answered !== asked) {
    throw new RegistryError(
      'unauthorized',
      `${asked} redirected to ${answered}, which asked for credentials (HTTP 401); credentials for ${asked} are never sent to another host`
    )
  }
  return response
}

interface RegistryAuthState {
  /** What the registry asked for; undefined until its first answer. */
  challenge?: Challenge | null
  /** The first request to a registry goes alone; the others wait to learn its challenge. */
  learning?: Promise<unknown>
}

interface CachedToken {
  value: Promise<string>
  expiresAt: number
}

/**
 * Registry authentication: straight to the request (no `/v2/` ping), answering the
 * challenge of the first 401 — Bearer tokens fetched once per scope and reused until
 * `expires_in`, or Basic — and retrying once with it.
 */
export class Authenticator {
  readonly stats = { tokensFetched: 0 }
  private readonly registries = new Map<string, RegistryAuthState>()
  private readonly tokens = new Map<string, CachedToken>()

  /** `next`: the layer under it, which sends a request as it is (the transport, or a test's script). */
  constructor(
    private readonly next: RoundTripper,
    private readonly keychain: Keychain
  ) {}

  /** Sends a request for `repository` on `registry` with whatever authorization it needs. */
  async send(registry: string, repository: string, req: HttpRequest): Promise<HttpResponse> {
    const state = this.state(registry)
    if (state.challenge === undefined) {
      if (!state.learning) {
        const first = this.next(req).then(response => challengeFrom(req, response))
        state.learning = first.catch(() => undefined)
        const response = await first
        state.challenge =
          response.status === 401 ? parseChallenge(response.headers['www-authenticate']) : null
        if (response.status !== 401) return response
      } else {
        await state.learning
      }
    }
    let authorization = await this.authorization(registry, repository, false)
    let response = challengeFrom(req, await this.next({ ...req, authorization }))
    if (response.status === 401) {
      // the challenge may have changed, or a cached token expired early: learn and try once more
      state.challenge = parseChallenge(response.headers['www-authenticate']) ?? state.challenge
      authorization = await this.authorization(registry, repository, true)
      if (authorization !== undefined)
        response = challengeFrom(req, await this.next({ ...req, authorization }))
    }
    return response
  }

  private state(registry: string): RegistryAuthState {
    let state = this.registries.get(registry)
    if (!state) this.registries.set(registry, (state = {}))
    return state
  }

  /** Whether credentials were sent to the registry (a challenge asked, and some were found): a refusal then means something else. */
  async hasCredential(registry: string): Promise<boolean> {
    try {
      return ((await this.keychain.looked(registry)) ?? null) !== null
    } catch {
      return false
    }
  }

  private async authorization(
    registry: string,
    repository: string,
    refresh: boolean
  ): Promise<string | undefined> {
    const challenge = this.state(registry).challenge
    if (!challenge) return undefined
    const credential = await this.keychain.resolve(registry)
    if (challenge.scheme === 'basic') {
      if (!credential || !('password' in credential)) return undefined
      return (
        'Basic ' + Buffer.from(`${credential.username}:${credential.password}`).toString('base64')
      )
    }
    const scope = `repository:${repository}:pull`
    const key = `${registry}\0${scope}`
    const cached = this.tokens.get(key)
    if (cached && !refresh && cached.expiresAt > Date.now()) return `Bearer ${await cached.value}`
    const entry: CachedToken = { value: Promise.resolve(''), expiresAt: Infinity }
    entry.value = this.fetchToken(registry, challenge, scope, credential).then(
      ({ token, expiresIn }) => {
        // renew a little early so a token never expires between check and use
        entry.expiresAt = Date.now() + Math.max(0, expiresIn - 10) * 1000
        return token
      },
      error => {
        this.tokens.delete(key)
        throw error
      }
    )
    this.tokens.set(key, entry)
    return `Bearer ${await entry.value}`
  }

  private async fetchToken(
    registry: string,
    challenge: Challenge,
    scope: string,
    credential: Credential | null
  ): Promise<{ token: string; expiresIn: number }> {
    const realm = challenge.params.realm
    if (!realm || !/^https?:\/\//.test(realm)) {
      throw new RegistryError(
        'bad-response',
        `${registry}: Bearer challenge without a usable realm ("${realm ?? ''}")`
      )
    }
    const url = new URL(realm)
    const req = tokenRequest(url, challenge.params.service, scope, credential)
    this.stats.tokensFetched++
    let response: HttpResponse
    try {
      response = await this.next({ ...req, maxBodyBytes: 1024 * 1024 })
    } catch (error) {
      if (error instanceof RegistryError) {
        throw new RegistryError(
          error.kind,
          `token service for ${registry} (${url.host}): ${error.message.replace(/^[^:]+: /, '')}`
        )
      }
      throw error
    }
    if (response.status === 401 || response.status === 403) {
      throw new RegistryError(
        'unauthorized',
        `log in to ${registry}: its token service refused the credentials (HTTP ${response.status}); check the docker/login-action step or registry-auth`
      )
    }
    if (response.status !== 200) {
      throw new RegistryError(
        'server',
        `token service for ${registry} (${url.host}) answered HTTP ${response.status}`
      )
    }
    let body: unknown
    try {
      body = JSON.parse(response.body.toString('utf8'))
    } catch {
      throw new RegistryError(
        'bad-response',
        `token service for ${registry} (${url.host}) did not answer JSON`
      )
    }
    // `token`, or OAuth2's `access_token` (ACR answers only that; Harbor sends both, one empty)
    const field = (key: string) =>
      isRecord(body) && typeof body[key] === 'string' ? body[key] : ''
    const token = field('token') || field('access_token')
    // visible ASCII only: it becomes a header
    if (!/^[!-~]+$/.test(token))
      throw new RegistryError(
        'bad-response',
        `token service for ${registry} (${url.host}) answered without a token`
      )
    const expires = isRecord(body) ? body.expires_in : undefined
    return {
      token,
      expiresIn: typeof expires === 'number' && expires > 0 ? expires : 60
    }
  }
}

/**
 * The request for a token: an OAuth2 refresh-token grant for an identity token (as docker
 * does), else a GET with the scope, Basic credentials when there are any.
 */
function tokenRequest(
  url: URL,
  service: string | undefined,
  scope: string,
  credential: Credential | null
): HttpRequest {
  if (credential && 'identityToken' in credential) {
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: credential.identityToken,
      client_id: 'base-image-drift',
      scope
    })
    if (service) form.set('service', service)
    return {
      method: 'POST',
      url: url.toString(),
      body: form.toString(),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' }
    }
  }
  const query = new URL(url)
  if (service) query.searchParams.set('service', service)
  query.searchParams.set('scope', scope)
  const authorization = credential
    ? 'Basic ' + Buffer.from(`${credential.username}:${credential.password}`).toString('base64')
    : undefined
  return { method: 'GET', url: query.toString(), authorization }
}
