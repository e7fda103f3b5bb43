/**
 * One request to one URL over undici: the per-attempt deadline (a body dripped a byte at a
 * time cannot hold it open), the run's deadline (no request starts after it, no stream goes
 * on past it), the body read within its limit, and undici's failures as registry errors.
 */
import type { Dispatcher } from 'undici'
import { RegistryError } from './errors.js'
import { request as undiciRequest, type Agent } from './undici.js'
import { readCapped } from './body.js'
import type {
  HttpRequest,
  HttpResponse,
  RoundTripper,
  RunDeadline,
  TransportStats
} from './http.js'
import { codeOf, messageOf } from '../../errors.js'

const EMPTY = Buffer.alloc(0)

export function exchanging(
  agent: Agent,
  timeoutMs: number,
  deadline: RunDeadline,
  stats: Pick<TransportStats, 'requests'>
): RoundTripper {
  return async request => {
    const { host } = new URL(request.url)
    const runLeft = deadline.at - Date.now()
    if (runLeft <= 0)
      throw new RegistryError(
        'timeout',
        `${host}: not asked, the run's time limit of ${deadline.described} has passed`
      )
    // one deadline for the whole exchange
    const limitMs = Math.min(timeoutMs, runLeft)
    // a HEAD has no body to drip: undici's headers timeout bounds it whole; a streamed layer
    // is bounded by the explain budget and the run's limit instead
    const abort = request.stream || request.method === 'HEAD' ? null : new AbortController()
    const timer = abort ? setTimeout(() => abort.abort(), limitMs) : null
    try {
      stats.requests++
      return await exchange(agent, request, host, abort?.signal, limitMs, timeoutMs, deadline)
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
}

async function exchange(
  agent: Agent,
  req: HttpRequest,
  host: string,
  signal: AbortSignal | undefined,
  limitMs: number,
  timeoutMs: number,
  deadline: RunDeadline
): Promise<HttpResponse> {
  const headers: Record<string, string> = { 'User-Agent': 'base-image-drift', ...req.headers }
  if (req.authorization) headers.Authorization = req.authorization
  let res: Dispatcher.ResponseData
  try {
    res = await undiciRequest(agent, req.url, {
      method: req.method,
      headers,
      body: req.body,
      signal,
      // undici closes the connection after every HEAD unless told not to; registries answer
      // HEAD correctly, and a new connection (and TLS handshake) per digest is the main cost
      reset: false,
      // undici's own timers (connect, headers, body) cost less than an AbortSignal each
      headersTimeout: limitMs,
      bodyTimeout: timeoutMs
    })
  } catch (error) {
    throw networkError(error, host, timeoutMs)
  }
  const responseHeaders: Record<string, string> = {}
  for (const [name, value] of Object.entries(res.headers))
    if (value !== undefined)
      responseHeaders[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value
  const answer = { status: res.statusCode, url: req.url, headers: responseHeaders }
  if (req.stream && res.statusCode === 200) {
    // undici's body timeout is per chunk: a layer dripped a byte at a time would hold the run
    // as long as the registry liked, so every stream ends at the run's deadline
    const body = res.body
    const cutoff = setTimeout(
      () =>
        body.destroy(
          new RegistryError(
            'timeout',
            `${host}: still sending when the run's time limit of ${deadline.described} passed`
          )
        ),
      Math.max(0, deadline.at - Date.now())
    )
    body.once('close', () => clearTimeout(cutoff))
    return { ...answer, body: EMPTY, stream: body }
  }
  if (req.method === 'HEAD') {
    // no body comes, and its Content-Length describes one that is never sent: nothing to read
    res.body.resume()
    return { ...answer, body: EMPTY }
  }
  const body = await readCapped(
    res.body,
    Number(responseHeaders['content-length'] ?? NaN),
    req.maxBodyBytes ?? Infinity,
    { host, url: req.url },
    error => networkError(error, host, timeoutMs)
  )
  return { ...answer, body }
}

function networkError(error: unknown, host: string, timeoutMs: number): RegistryError {
  const code = codeOf(error) ?? ''
  const message = messageOf(error)
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new RegistryError(
      'network',
      `${host}: DNS lookup failed (${code}); check the registry's name, and that this runner can resolve it`
    )
  if (/CERT|SSL|TLS|SELF_SIGNED/i.test(code + message))
    return new RegistryError(
      'network',
      `${host}: TLS error (${code || message}); for a registry without TLS, add it to insecure-registries`
    )
  if (
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT'
  )
    return new RegistryError(
      'timeout',
      `${host}: no complete answer within ${timeoutMs / 1000} s (input timeout)`
    )
  return new RegistryError(
    'network',
    `${host}: connection failed (${code || message}); check that this runner can reach the registry`
  )
}
