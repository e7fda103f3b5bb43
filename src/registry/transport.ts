import type { Readable } from 'node:stream'
import { Agent, request, type Dispatcher } from 'undici'
import { RUN_TIMEOUT_FACTOR } from '../config/defaults.js'
import { RegistryError } from './errors.js'

export interface TransportOptions {
  /** Per-request timeout (each attempt, from sending it to its last byte), in milliseconds. */
  timeoutMs: number
  /** Whole-run deadline: after it no request starts and none is retried; default 10 × timeoutMs. */
  runTimeoutMs?: number
  /** Retries after the first attempt on 429, 5xx, connection errors and timeouts. */
  maxRetries?: number
  globalConcurrency?: number
  perHostConcurrency?: number
  /** First backoff delay; doubled each retry, with jitter. */
  baseDelayMs?: number
  maxDelayMs?: number
  /** Longest Retry-After honoured; a longer one ends the retries. */
  maxRetryAfterMs?: number
}

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST'
  url: string
  headers?: Record<string, string>
  body?: string
  /** Header value sent only to `credentialHost` (the origin it belongs to), never after a redirect elsewhere. */
  authorization?: string
  /** Body larger than this is refused. */
  maxBodyBytes?: number
  /** Hand a 200's body over as a stream instead of reading it (layers). */
  stream?: boolean
}

export interface HttpResponse {
  status: number
  url: string
  headers: Record<string, string>
  body: Buffer
  /** A 200's body, unread, when the request asked for a stream. */
  stream?: Readable
}

const RETRY_STATUS = new Set([429, 500, 502, 503, 504])
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308])
const MAX_REDIRECTS = 5

/**
 * HTTP for registries: one keep-alive undici Agent, bounded concurrency (global and per
 * host), a per-attempt timeout, retries with exponential backoff and jitter honouring
 * Retry-After, and redirects followed by hand so credentials never leave their host.
 */
export class Transport {
  readonly stats = { requests: 0, retries: 0 }
  private readonly agent: Agent
  private readonly global: Limiter
  private readonly perHost = new Map<string, Limiter>()
  private readonly options: Required<TransportOptions>
  private readonly runDeadline: number

  constructor(options: TransportOptions) {
    this.options = {
      maxRetries: 4,
      globalConcurrency: 16,
      perHostConcurrency: 8,
      baseDelayMs: 500,
      maxDelayMs: 10_000,
      maxRetryAfterMs: 60_000,
      runTimeoutMs: options.timeoutMs * RUN_TIMEOUT_FACTOR,
      ...options
    }
    this.runDeadline = Date.now() + this.options.runTimeoutMs
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      connections: this.options.perHostConcurrency,
      connect: { timeout: this.options.timeoutMs }
    })
    this.global = new Limiter(this.options.globalConcurrency)
  }

  async close(): Promise<void> {
    await this.agent.close()
  }

  /** Sends a request, retrying what is worth retrying; returns the final response. */
  async send(req: HttpRequest): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      let response: HttpResponse | null = null
      let failure: RegistryError | null = null
      try {
        response = await this.followRedirects(req)
      } catch (error) {
        if (
          !(error instanceof RegistryError) ||
          (error.kind !== 'network' && error.kind !== 'timeout')
        )
          throw error
        failure = error
      }
      if (response && !RETRY_STATUS.has(response.status)) return response
      if (attempt >= this.options.maxRetries) {
        if (response) return response
        throw failure!
      }
      const retryAfter = response ? parseRetryAfter(response.headers['retry-after']) : null
      const backoff = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** attempt)
      const wait =
        retryAfter !== null
          ? retryAfter + Math.random() * 100
          : backoff / 2 + Math.random() * (backoff / 2)
      // a wait the registry asks for, however long, never outlasts the run
      if (
        (retryAfter !== null && retryAfter > this.options.maxRetryAfterMs) ||
        Date.now() + wait >= this.runDeadline
      ) {
        if (response) return response
        throw failure!
      }
      this.stats.retries++
      await sleep(wait)
    }
  }

  private async followRedirects(req: HttpRequest): Promise<HttpResponse> {
    const credentialOrigin = new URL(req.url).origin
    let url = req.url
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const sameOrigin = new URL(url).origin === credentialOrigin
      const response = await this.once({
        ...req,
        url,
        authorization: sameOrigin ? req.authorization : undefined
      })
      const location = response.headers.location
      if (!REDIRECT_STATUS.has(response.status) || !location) return response
      const next = new URL(location, url)
      if (next.protocol !== new URL(url).protocol) {
        throw new RegistryError(
          'bad-response',
          `${new URL(url).host} redirected ${new URL(url).protocol.slice(0, -1)} to ${next.protocol.slice(0, -1)} (${next.host}); refused: a redirect never changes the scheme`
        )
      }
      url = next.toString()
    }
    throw new RegistryError(
      'bad-response',
      `${new URL(req.url).host}: more than ${MAX_REDIRECTS} redirects for ${req.url}`
    )
  }

  private async once(req: HttpRequest): Promise<HttpResponse> {
    const { host } = new URL(req.url)
    let limiter = this.perHost.get(host)
    if (!limiter) this.perHost.set(host, (limiter = new Limiter(this.options.perHostConcurrency)))
    // per host first, so a request waiting for a busy registry holds no global slot
    return limiter.run(() => this.global.run(() => this.dispatch(req, host)))
  }

  private async dispatch(req: HttpRequest, host: string): Promise<HttpResponse> {
    const runLeft = this.runDeadline - Date.now()
    if (runLeft <= 0) {
      throw new RegistryError(
        'timeout',
        `${host}: not asked, the run's time limit of ${this.options.runTimeoutMs / 1000} s (${RUN_TIMEOUT_FACTOR} × timeout) has passed`
      )
    }
    // one deadline for the whole exchange, so a body dripped a byte at a time cannot hold it open
    const limitMs = Math.min(this.options.timeoutMs, runLeft)
    const abort = new AbortController()
    const timer = req.stream ? null : setTimeout(() => abort.abort(), limitMs)
    try {
      return await this.exchange(req, host, abort.signal)
    } catch (error) {
      if (abort.signal.aborted)
        throw new RegistryError(
          'timeout',
          `${host}: no complete answer within ${limitMs / 1000} s (input timeout)`
        )
      throw error
    } finally {
      if (timer) clearTimeout(timer)
    }
  }

  private async exchange(
    req: HttpRequest,
    host: string,
    signal: AbortSignal
  ): Promise<HttpResponse> {
    this.stats.requests++
    const headers: Record<string, string> = { 'User-Agent': 'base-image-drift', ...req.headers }
    if (req.authorization) headers.Authorization = req.authorization
    let res: Dispatcher.ResponseData
    try {
      res = await request(req.url, {
        method: req.method,
        headers,
        body: req.body,
        dispatcher: this.agent,
        signal,
        // undici closes the connection after every HEAD unless told not to; registries answer
        // HEAD correctly, and a new connection (and TLS handshake) per digest is the main cost
        reset: false,
        // undici's own timers (connect, headers, body) cost less than an AbortSignal each
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs
      })
    } catch (error) {
      throw networkError(error, host, this.options.timeoutMs)
    }
    const responseHeaders: Record<string, string> = {}
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined)
        responseHeaders[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value
    }
    if (req.stream && res.statusCode === 200) {
      return {
        status: res.statusCode,
        url: req.url,
        headers: responseHeaders,
        body: Buffer.alloc(0),
        stream: res.body
      }
    }
    const limit = req.maxBodyBytes ?? Infinity
    // a HEAD's Content-Length describes a body that is never sent
    const declared = req.method === 'HEAD' ? NaN : Number(responseHeaders['content-length'] ?? NaN)
    if (declared > limit) {
      res.body.destroy()
      throw tooLarge(host, req.url, limit)
    }
    const chunks: Buffer[] = []
    let size = 0
    try {
      for await (const chunk of res.body) {
        size += chunk.length
        if (size > limit) {
          res.body.destroy()
          throw tooLarge(host, req.url, limit)
        }
        chunks.push(chunk)
      }
    } catch (error) {
      if (error instanceof RegistryError) throw error
      throw networkError(error, host, this.options.timeoutMs)
    }
    return {
      status: res.statusCode,
      url: req.url,
      headers: responseHeaders,
      body: Buffer.concat(chunks)
    }
  }
}

function tooLarge(host: string, url: string, limit: number): RegistryError {
  const mib = limit / 1024 / 1024
  return new RegistryError(
    'too-large',
    `${host}: ${new URL(url).pathname} is larger than the ${mib} MiB limit; refused`
  )
}

function networkError(error: unknown, host: string, timeoutMs: number): RegistryError {
  const code =
    (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code ?? ''
  const message = (error as Error).message
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new RegistryError('network', `${host}: DNS lookup failed (${code})`)
  if (/CERT|SSL|TLS|SELF_SIGNED/i.test(code + message)) {
    return new RegistryError(
      'network',
      `${host}: TLS error (${code || message}); for a registry without TLS, add it to insecure-registries`
    )
  }
  if (
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT'
  ) {
    return new RegistryError(
      'timeout',
      `${host}: no complete answer within ${timeoutMs / 1000} s (input timeout)`
    )
  }
  return new RegistryError('network', `${host}: connection failed (${code || message})`)
}

/** Retry-After in milliseconds, from seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | null {
  if (value === undefined || value.trim() === '') return null
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? null : Math.max(0, date - now)
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

/** At most `size` tasks at once; the rest wait in order. */
export class Limiter {
  private active = 0
  private readonly waiting: (() => void)[] = []

  constructor(private readonly size: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.size) await new Promise<void>(resolve => this.waiting.push(resolve))
    else this.active++
    try {
      return await task()
    } finally {
      const next = this.waiting.shift()
      if (next) next()
      else this.active--
    }
  }
}
