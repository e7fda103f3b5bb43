import { execFileSync } from 'node:child_process'
import { createPrivateKey, sign, X509Certificate, type KeyObject } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { close, listen } from './ports.js'

export interface TokenRequest {
  service: string | null
  scopes: string[]
  account: string | null
  authorized: boolean
}

export interface TokenServerOptions {
  /** user → password; when set, a request with wrong Basic credentials gets 401. */
  users?: Record<string, string>
  /** Lifetime of issued tokens, in seconds. */
  expiresIn?: number
  /** Field the token is returned in. */
  field?: 'token' | 'access_token'
  /** OAuth2 refresh tokens (docker's identity tokens) → account, for POST refresh_token grants. */
  identityTokens?: Record<string, string>
  /** Whether a token without an account may pull (default true, as on Docker Hub). */
  anonymousPull?: boolean
}

/**
 * A token server for the registry's `auth.token` mode (the Docker token protocol): signs
 * RS256 JWTs with a key generated at start, carrying its certificate in the `x5c` header so
 * the registry can check it against `rootcertbundle`.
 */
export class TokenServer {
  readonly issuer = 'bid-test-issuer'
  readonly service = 'bid-test-registry'
  readonly requests: TokenRequest[] = []
  /** Set to make the endpoint answer with this status instead of a token. */
  failWith: number | null = null
  private server: Server | null = null
  private dir = ''
  private key: KeyObject | null = null
  private certDer = ''
  port = 0

  constructor(private readonly options: TokenServerOptions = {}) {}

  get certPath(): string {
    return join(this.dir, 'cert.pem')
  }

  get realm(): string {
    return `http://127.0.0.1:${this.port}/token`
  }

  async start(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'bid-token-'))
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=bid-test-issuer',
        '-keyout',
        join(this.dir, 'key.pem'),
        '-out',
        this.certPath
      ],
      { stdio: 'ignore' }
    )
    this.key = createPrivateKey(readFileSync(join(this.dir, 'key.pem')))
    this.certDer = new X509Certificate(readFileSync(this.certPath)).raw.toString('base64')
    this.server = createServer(async (req, res) => {
      let form: URLSearchParams | null = null
      if (req.method === 'POST') {
        let body = ''
        for await (const chunk of req) body += chunk
        form = new URLSearchParams(body)
      }
      const request = this.record(req, form)
      if (this.failWith !== null) {
        res.writeHead(this.failWith).end('token service failure')
        return
      }
      if (!request.authorized) {
        res
          .writeHead(401, { 'Content-Type': 'application/json' })
          .end('{"details":"bad credentials"}')
        return
      }
      const token = this.issue(request)
      const field = this.options.field ?? 'token'
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(
        JSON.stringify({
          [field]: token,
          expires_in: this.options.expiresIn ?? 300,
          issued_at: new Date().toISOString()
        })
      )
    })
    this.port = await listen(this.server)
  }

  async stop(): Promise<void> {
    await close(this.server)
    this.server = null
    rmSync(this.dir, { recursive: true, force: true })
  }

  private record(req: IncomingMessage, form: URLSearchParams | null): TokenRequest {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const params = form ?? url.searchParams
    const header = req.headers.authorization ?? ''
    let account: string | null = null
    let authorized = true
    if (form) {
      account = this.options.identityTokens?.[form.get('refresh_token') ?? ''] ?? null
      authorized = form.get('grant_type') === 'refresh_token' && account !== null
    } else if (header.startsWith('Basic ')) {
      const [user, ...rest] = Buffer.from(header.slice(6), 'base64').toString().split(':')
      account = user
      authorized = this.options.users?.[user] === rest.join(':')
    } // anonymous pull is allowed; only wrong credentials are refused
    const request = {
      service: params.get('service'),
      scopes: params.getAll('scope').flatMap(scope => scope.split(' ')),
      account,
      authorized
    }
    this.requests.push(request)
    return request
  }

  private issue(request: TokenRequest): string {
    const now = Math.floor(Date.now() / 1000)
    const access = request.scopes.map(scope => {
      const [type, ...rest] = scope.split(':')
      const actions = rest.pop() ?? ''
      return {
        type,
        name: rest.join(':'),
        actions: actions
          .split(',')
          .filter(
            a => request.account !== null || (a === 'pull' && this.options.anonymousPull !== false)
          )
      }
    })
    const header = { typ: 'JWT', alg: 'RS256', x5c: [this.certDer] }
    const claims = {
      iss: this.issuer,
      sub: request.account ?? '',
      aud: this.service,
      exp: now + (this.options.expiresIn ?? 300),
      nbf: now - 10,
      iat: now,
      jti: Math.random().toString(36).slice(2),
      access
    }
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
    const signingInput = `${encode(header)}.${encode(claims)}`
    const signature = sign('sha256', Buffer.from(signingInput), this.key!).toString('base64url')
    return `${signingInput}.${signature}`
  }
}
