import { Readable } from 'node:stream'
import { RegistryError } from '../src/registry/transport/errors.js'
import { readCapped } from '../src/registry/transport/body.js'
import type { HttpRequest, HttpResponse, RoundTripper } from '../src/registry/transport/http.js'
import { limited } from '../src/registry/transport/limit.js'
import { followingRedirects, MAX_REDIRECTS } from '../src/registry/transport/redirect.js'
import { retrying } from '../src/registry/transport/retry.js'

/** Each layer of the transport alone, over a scripted next layer: no network. */
const answer = (status: number, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  url: '',
  headers,
  body: Buffer.alloc(0)
})

/** A next layer that answers from a script and records what it was sent. */
function scripted(...answers: (HttpResponse | Error)[]) {
  const sent: HttpRequest[] = []
  const next: RoundTripper = async request => {
    sent.push(request)
    const next = answers.shift() ?? answer(200)
    if (next instanceof Error) throw next
    return { ...next, url: request.url }
  }
  return { next, sent }
}

const GET = (url: string, authorization?: string): HttpRequest => ({
  method: 'GET',
  url,
  ...(authorization ? { authorization } : {})
})

describe('redirects, followed by hand', () => {
  it('sends the credentials to their own origin only, and follows a relative location', async () => {
    const { next, sent } = scripted(
      answer(307, { location: '/v2/x/blobs/b' }),
      answer(302, { location: 'https://cdn.example.com/blob?sig=1' }),
      answer(200)
    )
    const response = await followingRedirects(next)(
      GET('https://registry.example.com/v2/x/blobs/a', 'Bearer secret')
    )
    expect(response.status).toBe(200)
    expect(sent.map(r => [r.url, r.authorization ?? null])).toEqual([
      ['https://registry.example.com/v2/x/blobs/a', 'Bearer secret'],
      ['https://registry.example.com/v2/x/blobs/b', 'Bearer secret'],
      ['https://cdn.example.com/blob?sig=1', null]
    ])
  })

  it('refuses a redirect that changes the scheme, and more than 5 hops', async () => {
    await expect(
      followingRedirects(scripted(answer(301, { location: 'http://registry.example.com/x' })).next)(
        GET('https://registry.example.com/v2/')
      )
    ).rejects.toThrow('redirected https to http (registry.example.com); refused')
    const loop = scripted(
      ...Array.from({ length: MAX_REDIRECTS + 1 }, () => answer(302, { location: '/again' }))
    )
    await expect(followingRedirects(loop.next)(GET('https://r.example.com/v2/'))).rejects.toThrow(
      `more than ${MAX_REDIRECTS} redirects`
    )
    expect(loop.sent).toHaveLength(MAX_REDIRECTS + 1)
  })
})

describe('retries', () => {
  const options = { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 }
  const farDeadline = { at: Date.now() + 3_600_000, described: '1 h' }

  it('retries 503 and a failed connection with growing waits, then returns the answer', async () => {
    const waits: number[] = []
    const stats = { retries: 0 }
    const { next, sent } = scripted(
      answer(503),
      new RegistryError('network', 'r: connection failed (ECONNRESET)'),
      answer(200)
    )
    const send = retrying(next, options, farDeadline, stats, async ms => {
      waits.push(ms)
    })
    expect((await send(GET('https://r.example.com/v2/'))).status).toBe(200)
    expect(sent).toHaveLength(3)
    expect(stats.retries).toBe(2)
    // full jitter over half the backoff: [50, 100) then [100, 200)
    expect(waits[0]).toBeGreaterThanOrEqual(50)
    expect(waits[0]).toBeLessThan(100)
    expect(waits[1]).toBeGreaterThanOrEqual(100)
    expect(waits[1]).toBeLessThan(200)
  })

  it('honours Retry-After, gives up on one longer than allowed or past the run, and never retries a 404 or a refusal', async () => {
    const waits: number[] = []
    const sleep = async (ms: number) => {
      waits.push(ms)
    }
    const asked = scripted(answer(429, { 'retry-after': '2' }), answer(200))
    await retrying(asked.next, options, farDeadline, { retries: 0 }, sleep)(GET('https://r/'))
    expect(waits[0]).toBeGreaterThanOrEqual(2000)
    expect(waits[0]).toBeLessThan(2100)

    const tooLong = scripted(answer(429, { 'retry-after': '3600' }))
    expect(
      (await retrying(tooLong.next, options, farDeadline, { retries: 0 }, sleep)(GET('https://r/')))
        .status
    ).toBe(429)
    expect(tooLong.sent).toHaveLength(1)

    const nearDeadline = { at: Date.now() + 10, described: '0.01 s' }
    const late = scripted(new RegistryError('timeout', 'r: no complete answer'))
    await expect(
      retrying(late.next, options, nearDeadline, { retries: 0 }, sleep)(GET('https://r/'))
    ).rejects.toThrow('no complete answer')
    expect(late.sent).toHaveLength(1)

    for (const final of [answer(404), new RegistryError('bad-response', 'r: not JSON')]) {
      const once = scripted(final)
      const sending = retrying(
        once.next,
        options,
        farDeadline,
        { retries: 0 },
        sleep
      )(GET('https://r/'))
      if (final instanceof Error) await expect(sending).rejects.toThrow('not JSON')
      else expect((await sending).status).toBe(404)
      expect(once.sent).toHaveLength(1)
    }
  })
})

describe('concurrency limits', () => {
  it('keeps at most the per-registry limit open, and halves it when the registry says it is busy', async () => {
    let open = 0
    let most = 0
    const stats = { limitedTo: {} as Record<string, number> }
    let status = 200
    const next: RoundTripper = async request => {
      most = Math.max(most, ++open)
      await new Promise(resolve => setTimeout(resolve, 5))
      open--
      return { ...answer(status), url: request.url }
    }
    const send = limited(
      next,
      { globalConcurrency: 64, perHostConcurrency: 4, maxPerHostConcurrency: 4 },
      stats
    )
    await Promise.all(Array.from({ length: 20 }, () => send(GET('https://a.example.com/v2/'))))
    expect(most).toBe(4)
    status = 429
    await send(GET('https://a.example.com/v2/'))
    expect(stats.limitedTo['a.example.com']).toBeLessThanOrEqual(2)
  })
})

describe('bodies within a limit', () => {
  const where = { host: 'r.example.com', url: 'https://r.example.com/v2/x/manifests/1' }
  const failed = (error: unknown) => new Error(`failed: ${String(error)}`)

  it('reads a body under the limit, and refuses one declared or grown past it', async () => {
    expect(
      (
        await readCapped(Readable.from([Buffer.from('ab'), Buffer.from('c')]), 3, 3, where, failed)
      ).toString()
    ).toBe('abc')
    await expect(
      readCapped(Readable.from([Buffer.from('x')]), 5, 4, where, failed)
    ).rejects.toThrow('r.example.com: /v2/x/manifests/1 is larger than the')
    // no length declared: cut where it crosses the limit
    const endless = Readable.from(
      (function* () {
        for (;;) yield Buffer.alloc(1024)
      })()
    )
    await expect(readCapped(endless, NaN, 4096, where, failed)).rejects.toMatchObject({
      kind: 'too-large'
    })
  })
})
