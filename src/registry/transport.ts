/**
 * The HTTP transport under every registry request: per-host and global limits, retries with backoff,
 * redirects followed by hand, capped bodies, deadlines per request and for the run.
 */
import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import { registryAgent, request, type Agent } from './undici.js'
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
  /** Requests open at once to one registry at first; halved on 429/503, grown back on success. */
  perHostConcurrency?: number
  /** The most requests ever open at once to one registry. */
  maxPerHostConcurrency?: number
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
const EMPTY = Buffer.alloc(0)
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308])
const MAX_REDIRECTS = 5

/**
 * HTTP for registries: one keep-alive undici Agent, bounded concurrency (global and per
 * host), a per-attempt timeout, retries with exponential backoff and jitter honouring
 * Retry-After, and redirects followed by hand so credentials never leave their host.
 */
export class Transport {
  readonly stats = { requests: 0, retries: 0, limitedTo: {} as Record<string, number> }
  private readonly agent: Agent
  private readonly global: Limiter
  private readonly perHost = new Map<string, Limiter>()
  private readonly options: Required<TransportOptions>
  private readonly runDeadline: number

  constructor(options: TransportOptions) {
    this.options = {
      maxRetries: 4,
      globalConcurrency: 64,
      perHostConcurrency: 32,
      maxPerHostConcurrency: 64,
      baseDelayMs: 500,
      maxDelayMs: 10_000,
      maxRetryAfterMs: 60_000,
      runTimeoutMs: options.timeoutMs * RUN_TIMEOUT_FACTOR,
      ...options
    }
    this.runDeadline = Date.now() + this.options.runTimeoutMs
    this.agent = registryAgent({
      keepAliveTimeout: 30_000,
      perOrigin: this.options.maxPerHostConcurrency,
      connectTimeout: this.options.timeoutMs
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
    const own = limiter
    // per host first, so a request waiting for a busy registry holds no global slot
    const response = await own.run(() => this.global.run(() => this.dispatch(req, host)))
    // additive increase, multiplicative decrease: a registry that says it is busy gets fewer
    if (response.status === 429 || response.status === 503) own.backOff()
    else own.grow(this.options.maxPerHostConcurrency)
    this.stats.limitedTo[host] = own.limit
    return response
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
    // a HEAD has no body to drip: undici's headers timeout bounds it whole; a streamed layer
    // is bounded by the explain budget and the run's limit instead
    const abort = req.stream || req.method === 'HEAD' ? null : new AbortController()
    const timer = abort ? setTimeout(() => abort.abort(), limitMs) : null
    try {
      return await this.exchange(req, host, abort?.signal, limitMs)
    } catch (error) {
      if (abort?.signal.aborted)
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
    signal: AbortSignal | undefined,
    limitMs: number
  ): Promise<HttpResponse> {
    this.stats.requests++
    const headers: Record<string, string> = { 'User-Agent': 'base-image-drift', ...req.headers }
    if (req.authorization) headers.Authorization = req.authorization
    let res: Dispatcher.ResponseData
    try {
      res = await request(this.agent, req.url, {
        method: req.method,
        headers,
        body: req.body,
        signal,
        // undici closes the connection after every HEAD unless told not to; registries answer
        // HEAD correctly, and a new connection (and TLS handshake) per digest is the main cost
        reset: false,
        // undici's own timers (connect, headers, body) cost less than an AbortSignal each
        headersTimeout: limitMs,
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
      // undici's body timeout is per chunk: a layer dripped a byte at a time would hold the run
      // as long as the registry liked, so every stream ends at the run's deadline
      const body = res.body
      const cutoff = setTimeout(
        () =>
          body.destroy(
            new RegistryError(
              'timeout',
              `${host}: still sending when the run's time limit of ${this.options.runTimeoutMs / 1000} s (${RUN_TIMEOUT_FACTOR} × timeout) passed`
            )
          ),
        Math.max(0, this.runDeadline - Date.now())
      )
      body.once('close', () => clearTimeout(cutoff))
      return {
        status: res.statusCode,
        url: req.url,
        headers: responseHeaders,
        body: Buffer.alloc(0),
        stream: body
      }
    }
    if (req.method === 'HEAD') {
      // no body comes, and its Content-Length describes one that is never sent: nothing to read
      res.body.resume()
      return { status: res.statusCode, url: req.url, headers: responseHeaders, body: EMPTY }
    }
    const limit = req.maxBodyBytes ?? Infinity
    const declared = Number(responseHeaders['content-length'] ?? NaN)
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

/** At most `limit` tasks at once; the rest wait in order. The limit can move (AIMD). */
export class Limiter {
  private active = 0
  private readonly waiting: (() => void)[] = []
  private successes = 0
  private lastBackOff = 0

  constructor(private size: number) {}

  get limit(): number {
    return this.size
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.size) await new Promise<void>(resolve => this.waiting.push(resolve))
    else this.active++
    try {
      return await task()
    } finally {
      // a lowered limit lets the slot go instead of handing it on
      const next = this.active <= this.size ? this.waiting.shift() : undefined
      if (next) next()
      else this.active--
    }
  }

  /** Halve the limit, at most once per second however many busy answers arrive together. */
  backOff(now = Date.now()): void {
    if (now - this.lastBackOff < 1000) return
    this.lastBackOff = now
    this.size = Math.max(1, Math.floor(this.size / 2))
    this.successes = 0
  }

  /** One more slot after a limit's worth of answers without a busy one. */
  grow(max: number): void {
    if (this.size >= max || ++this.successes < this.size) return
    this.successes = 0
    this.size++
    const next = this.waiting.shift()
    if (next) {
      this.active++
      next()
    }
  }
}
