/**
 * Redirects followed by hand: credentials go only to the origin they were given for (an
 * Authorization header, and a request's body, which is a credential: the refresh-token
 * grant of a token request), a redirect never changes the scheme (https to http would send
 * the rest in clear), and at most 5 hops.
 */
import { RegistryError } from './errors.js'
import type { RoundTripper } from './http.js'

const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308])
export const MAX_REDIRECTS = 5

export function followingRedirects(next: RoundTripper): RoundTripper {
  return async request => {
    const credentialOrigin = new URL(request.url).origin
    let url = request.url
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const sameOrigin = new URL(url).origin === credentialOrigin
      const response = await next({
        ...request,
        url,
        authorization: sameOrigin ? request.authorization : undefined
      })
      const location = response.headers.location
      if (!REDIRECT_STATUS.has(response.status) || !location) return response
      const from = new URL(url)
      const to = new URL(location, url)
      if (to.protocol !== from.protocol)
        throw new RegistryError(
          'bad-response',
          `${from.host} redirected ${from.protocol.slice(0, -1)} to ${to.protocol.slice(0, -1)} (${to.host}); refused: a redirect never changes the scheme`
        )
      if (request.body !== undefined && to.origin !== credentialOrigin)
        throw new RegistryError(
          'bad-response',
          `${new URL(request.url).host} redirected a token request to ${to.host}; refused: credentials for ${new URL(request.url).host} are never sent to another host`
        )
      url = to.toString()
    }
    throw new RegistryError(
      'bad-response',
      `${new URL(request.url).host}: more than ${MAX_REDIRECTS} redirects for ${request.url}`
    )
  }
}
