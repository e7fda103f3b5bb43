import { randomBytes } from 'node:crypto'
import { Agent, request, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer, type Server } from 'node:https'
import { join } from 'node:path'
import { endToEnd } from './fault-proxy.js'
import { close, listen } from './ports.js'
import { selfSignedCert } from './tls-cert.js'

/**
 * How one registry asks for credentials and checks them, as its documentation and source
 * say: the challenges of a 401, its token service, and what it accepts.
 */
export interface Personality {
  /** Each `WWW-Authenticate` header of a 401; `{realm}` is the token service's URL. */
  challenges: string[]
  /** The token service's path; null: none (Basic only). */
  tokenPath: string | null
  /** The token service on another host than the registry (GitLab's gitlab.com/jwt/auth). */
  tokenElsewhere?: boolean
  /** The registry's token path redirects (this status) to the same path on the other host. */
  tokenRedirect?: 302 | 307
  /** What the token service takes: GET with Basic or anonymous, POST an OAuth2 refresh-token form. */
  tokenMethods?: ('GET' | 'POST')[]
  /** The token service's JSON for a token; `{ token, expires_in: 300 }` when not said. */
  tokenBody?: (token: string) => Record<string, unknown>
  /** A token is bound to the scope asked for; a request without one gets a token for nothing. */
  scopedTokens?: boolean
  /** user → password, for Basic on the token service or the registry. */
  users?: Record<string, string>
  /** OAuth2 refresh tokens (docker's `identitytoken`) → user. */
  identityTokens?: Record<string, string>
  /** Basic credentials taken on the registry itself. */
  basicOnRegistry?: boolean
  /** A Bearer token that does not let the request through is answered with these challenges (a switch to Basic); the usual ones when not said. */
  rechallenge?: string[]
  /** Tokens never open a private repository, whoever asked (Harbor's system robots): Basic does. */
  tokensRefusedForPrivate?: boolean
  /** A 401's body and its type; the OCI error shape when not said. */
  unauthorized?: { body: string; type: string }
  /** Basic passwords that expired: 403 with this body (ECR). */
  expired?: { password: string; body: string }
  /** Repositories that need an account; the others are public. */
  privateRepositories: string[]
}

export interface PersonalityRequest {
  /** `registry` or `token`: which host was asked. */
  host: 'registry' | 'token'
  method: string
  path: string
  authorization: string | null
  /** A token request's form or query. */
  params: Record<string, string>
  status: number
}

interface Issued {
  account: string | null
  repositories: string[]
}

/**
 * A registry's front door over TLS, in front of a TestRegistry that keeps the images: it
 * answers auth as the personality says and passes the requests it lets through. The registry
 * is reached as 0.0.0.0:port (a remote registry to the client), a token service elsewhere as
 * localhost:port; clients trust both through NODE_EXTRA_CA_CERTS=certPath.
 */
export class PersonalityFront {
  readonly requests: PersonalityRequest[] = []
  readonly certPath: string
  private readonly keyPath: string
  private registry: Server | null = null
  private tokens: Server | null = null
  private registryPort = 0
  private tokenPort = 0
  private readonly issued = new Map<string, Issued>()
  private readonly upstream = new Agent({ keepAlive: true })

  constructor(
    private readonly target: string,
    private readonly personality: Personality,
    dir: string
  ) {
    this.certPath = join(dir, 'personality-cert.pem')
    this.keyPath = join(dir, 'personality-key.pem')
  }

  get host(): string {
    return `0.0.0.0:${this.registryPort}`
  }

  get tokenHost(): string {
    return this.personality.tokenElsewhere ? `localhost:${this.tokenPort}` : this.host
  }

  get realm(): string {
    return `https://${this.tokenHost}${this.personality.tokenPath ?? '/'}`
  }

  async start(): Promise<this> {
    const tls = selfSignedCert(this.certPath, this.keyPath, 'IP:0.0.0.0,IP:127.0.0.1,DNS:localhost')
    this.registry = createServer(tls, (req, res) => void this.serveRegistry(req, res))
    this.registryPort = await listen(this.registry)
    if (this.personality.tokenElsewhere || this.personality.tokenRedirect) {
      this.tokens = createServer(tls, (req, res) => void this.serveToken(req, res))
      this.tokenPort = await listen(this.tokens)
    }
    return this
  }

  async stop(): Promise<void> {
    await close(this.registry)
    await close(this.tokens)
    this.upstream.destroy()
  }

  reset(): void {
    this.requests.length = 0
  }

  private record(
    req: IncomingMessage,
    host: PersonalityRequest['host'],
    status: number,
    params: Record<string, string> = {}
  ): void {
    this.requests.push({
      host,
      method: req.method ?? '',
      path: (req.url ?? '').split('?')[0],
      authorization: req.headers.authorization ?? null,
      params,
      status
    })
  }

  private challenge(res: ServerResponse, headers: string[]): void {
    const { body, type } = this.personality.unauthorized ?? {
      body: '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
      type: 'application/json'
    }
    res.writeHead(401, {
      'Content-Type': type,
      'WWW-Authenticate': headers.map(h => h.replaceAll('{realm}', this.realm))
    })
    res.end(body)
  }

  private async serveRegistry(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0]
    if (!this.personality.tokenElsewhere && path === this.personality.tokenPath) {
      const status = this.personality.tokenRedirect
      if (!status) return this.serveToken(req, res)
      this.record(req, 'registry', status)
      res.writeHead(status, { Location: `https://localhost:${this.tokenPort}${req.url ?? '/'}` })
      return void res.end()
    }
    const p = this.personality
    const repository = /^\/v2\/(.+)\/(?:manifests|blobs|tags)\//.exec(path)?.[1] ?? ''
    const needsAccount = p.privateRepositories.includes(repository)
    const authorization = req.headers.authorization ?? ''
    let allowed: boolean
    if (authorization.startsWith('Bearer ')) {
      const token = this.issued.get(authorization.slice('Bearer '.length))
      const covers = !!token && (!p.scopedTokens || token.repositories.includes(repository))
      allowed = covers && (!needsAccount || (token.account !== null && !p.tokensRefusedForPrivate))
      if (!allowed) {
        this.record(req, 'registry', 401)
        return this.challenge(res, p.rechallenge ?? p.challenges)
      }
    } else if (authorization.startsWith('Basic ') && p.basicOnRegistry) {
      const [user, password] = decodeBasic(authorization)
      if (p.expired && password === p.expired.password) {
        this.record(req, 'registry', 403)
        res.writeHead(403, { 'Content-Type': 'application/json' })
        return void res.end(p.expired.body)
      }
      allowed = p.users?.[user] === password
    } else allowed = !needsAccount && p.challenges.length === 0
    if (!allowed) {
      this.record(req, 'registry', 401)
      return this.challenge(res, p.challenges)
    }
    this.record(req, 'registry', 200)
    const target = new URL(req.url ?? '/', this.target)
    const upstream = request(
      target,
      {
        method: req.method,
        headers: { ...endToEnd(req.headers), host: target.host, authorization: '' },
        agent: this.upstream
      },
      response => {
        res.writeHead(response.statusCode ?? 502, endToEnd(response.headers))
        response.pipe(res)
      }
    )
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  }

  private async serveToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const p = this.personality
    const methods = p.tokenMethods ?? ['GET']
    const url = new URL(req.url ?? '/', 'https://token')
    let params = Object.fromEntries(url.searchParams)
    if (req.method === 'POST') {
      const chunks: Buffer[] = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')))
    }
    const answer = (status: number, body: object) => {
      this.record(req, 'token', status, params)
      res.writeHead(status, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (!methods.includes(req.method as 'GET' | 'POST'))
      return answer(405, {
        errors: [{ code: 'METHOD_NOT_ALLOWED', message: 'method not allowed' }]
      })
    let account: string | null = null
    if (req.method === 'POST') {
      account =
        params.grant_type === 'refresh_token'
          ? (p.identityTokens?.[params.refresh_token ?? ''] ?? null)
          : null
      if (account === null) return answer(401, { error: 'invalid_grant' })
    } else if (req.headers.authorization?.startsWith('Basic ')) {
      const [user, password] = decodeBasic(req.headers.authorization)
      if (p.users?.[user] !== password)
        return answer(401, { details: 'incorrect username or password' })
      account = user
    }
    const repositories = (params.scope ?? '')
      .split(' ')
      .flatMap(scope => /^repository:([^:]+):/.exec(scope)?.[1] ?? [])
    const token = randomBytes(16).toString('hex')
    this.issued.set(token, { account, repositories })
    answer(200, p.tokenBody?.(token) ?? { token, expires_in: 300 })
  }
}

function decodeBasic(authorization: string): [string, string] {
  const decoded = Buffer.from(authorization.slice('Basic '.length), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return [decoded.slice(0, colon), decoded.slice(colon + 1)]
}
