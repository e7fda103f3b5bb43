/**
 * Retries of what is worth retrying (429, 5xx, a connection that failed or timed out), with
 * exponential backoff and jitter, honouring Retry-After; never past the run's deadline, and
 * never for a Retry-After longer than the most the run waits.
 */
import { RegistryError } from './errors.js'
import type { HttpResponse, RoundTripper, RunDeadline, TransportStats } from './http.js'

const RETRY_STATUS = new Set([429, 500, 502, 503, 504])

export interface RetryOptions {
  /** Retries after the first attempt. */
  maxRetries: number
  /** First backoff delay; doubled each retry, with jitter. */
  baseDelayMs: number
  maxDelayMs: number
  /** Longest Retry-After honoured; a longer one ends the retries. */
  maxRetryAfterMs: number
}

export function retrying(
  next: RoundTripper,
  options: RetryOptions,
  deadline: RunDeadline,
  stats: Pick<TransportStats, 'retries'>,
  sleep: (ms: number) => Promise<void> = ms => new Promise(resolve => setTimeout(resolve, ms))
): RoundTripper {
  return async request => {
    for (let attempt = 0; ; attempt++) {
      let outcome: { response: HttpResponse } | { failure: RegistryError }
      try {
        outcome = { response: await next(request) }
      } catch (error) {
        if (!(error instanceof RegistryError) || !['network', 'timeout'].includes(error.kind))
          throw error
        outcome = { failure: error }
      }
      const response = 'response' in outcome ? outcome.response : null
      const giveUp = () => {
        if ('response' in outcome) return outcome.response
        throw outcome.failure
      }
      if (response && !RETRY_STATUS.has(response.status)) return response
      if (attempt >= options.maxRetries) return giveUp()
      const retryAfter = response ? parseRetryAfter(response.headers['retry-after']) : null
      const backoff = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** attempt)
      const wait =
        retryAfter !== null
          ? retryAfter + Math.random() * 100
          : backoff / 2 + Math.random() * (backoff / 2)
      // a wait the registry asks for, however long, never outlasts the run
      if (
        (retryAfter !== null && retryAfter > options.maxRetryAfterMs) ||
        Date.now() + wait >= deadline.at
      )
        return giveUp()
      stats.retries++
      await sleep(wait)
    }
  }
}

/** Retry-After in milliseconds, from seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | null {
  if (value === undefined || value.trim() === '') return null
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? null : Math.max(0, date - now)
}
