/**
 * How many requests are open at once: a global bound, and one per registry that adapts
 * (additive increase, multiplicative decrease): halved when a registry answers 429 or 503,
 * one more slot after a limit's worth of answers without a busy one.
 */
import type { RoundTripper, TransportStats } from './http.js'

export interface LimitOptions {
  globalConcurrency: number
  /** Requests open at once to one registry at first. */
  perHostConcurrency: number
  /** The most requests ever open at once to one registry. */
  maxPerHostConcurrency: number
}

export function limited(
  next: RoundTripper,
  options: LimitOptions,
  stats: Pick<TransportStats, 'limitedTo'>
): RoundTripper {
  const global = new Limiter(options.globalConcurrency)
  const perHost = new Map<string, Limiter>()
  return async request => {
    const { host } = new URL(request.url)
    let own = perHost.get(host)
    if (!own) perHost.set(host, (own = new Limiter(options.perHostConcurrency)))
    const limiter = own
    // per host first, so a request waiting for a busy registry holds no global slot
    const response = await limiter.run(() => global.run(() => next(request)))
    if (response.status === 429 || response.status === 503) limiter.backOff()
    else limiter.grow(options.maxPerHostConcurrency)
    stats.limitedTo[host] = limiter.limit
    return response
  }
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
