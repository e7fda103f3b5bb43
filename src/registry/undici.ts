/**
 * undici's Agent and request API, without the rest of the package (fetch, WebSocket, mocks,
 * caches): loading all of undici costs about 80 ms at every start, these two modules about 25.
 */
import type { Agent as UndiciAgent, Dispatcher } from 'undici'
import AgentModule from 'undici/lib/dispatcher/agent.js'
import requestModule from 'undici/lib/api/api-request.js'

export const Agent = AgentModule as unknown as typeof UndiciAgent
export type Agent = UndiciAgent

type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path'>

/** `request(url, options)` of undici, on this agent. */
export function request(
  agent: UndiciAgent,
  url: string,
  options: RequestOptions
): Promise<Dispatcher.ResponseData> {
  const { origin, pathname, search } = new URL(url)
  return (
    requestModule as unknown as (
      this: UndiciAgent,
      options: Dispatcher.RequestOptions
    ) => Promise<Dispatcher.ResponseData>
  ).call(agent, { ...options, origin, path: pathname + search })
}
