/**
 * The HTTP transport under every registry request, composed of single-purpose layers as
 * go-containerregistry composes round trippers: retries (outermost, so each retry goes
 * through the rest), redirects followed by hand, concurrency limits, and one exchange over a
 * keep-alive undici agent, with deadlines per request and for the run.
 */
import { RUN_TIMEOUT_FACTOR } from '../../config/defaults.js'
import { registryAgent, type Agent } from './undici.js'
import { exchanging } from './exchange.js'
import type { HttpRequest, HttpResponse, RoundTripper, TransportStats } from './http.js'
import { limited } from './limit.js'
import { followingRedirects } from './redirect.js'
import { retrying } from './retry.js'

export type { HttpRequest, HttpResponse } from './http.js'

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

export class Transport {
  readonly stats: TransportStats = { requests: 0, retries: 0, limitedTo: {} }
  /** Sends a request, retrying what is worth retrying; returns the final response. */
  readonly send: (request: HttpRequest) => Promise<HttpResponse>
  private readonly agent: Agent

  constructor(given: TransportOptions) {
    const options = {
      maxRetries: 4,
      globalConcurrency: 64,
      perHostConcurrency: 32,
      maxPerHostConcurrency: 64,
      baseDelayMs: 500,
      maxDelayMs: 10_000,
      maxRetryAfterMs: 60_000,
      runTimeoutMs: given.timeoutMs * RUN_TIMEOUT_FACTOR,
      ...given
    }
    const deadline = {
      at: Date.now() + options.runTimeoutMs,
      described: `${options.runTimeoutMs / 1000} s (${RUN_TIMEOUT_FACTOR} × timeout)`
    }
    this.agent = registryAgent({
      keepAliveTimeout: 30_000,
      perOrigin: options.maxPerHostConcurrency,
      connectTimeout: options.timeoutMs
    })
    const exchange: RoundTripper = exchanging(this.agent, options.timeoutMs, deadline, this.stats)
    this.send = retrying(
      followingRedirects(limited(exchange, options, this.stats)),
      options,
      deadline,
      this.stats
    )
  }

  async close(): Promise<void> {
    await this.agent.close()
  }
}
