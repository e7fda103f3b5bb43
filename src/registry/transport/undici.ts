/**
 * undici's Agent and request API, without the rest of the package (fetch, WebSocket, mocks,
 * caches): loading all of undici costs about 80 ms at every start, these modules about 25.
 */
import type {
  Agent as UndiciAgent,
  Client as UndiciClient,
  Pool as UndiciPool,
  Dispatcher,
  buildConnector as undiciBuildConnector
} from 'undici'
import AgentModule from 'undici/lib/dispatcher/agent.js'
import ClientModule from 'undici/lib/dispatcher/client.js'
import PoolModule from 'undici/lib/dispatcher/pool.js'
import requestModule from 'undici/lib/api/api-request.js'
import buildConnectorModule from 'undici/lib/core/connect.js'

const Agent = AgentModule as typeof UndiciAgent
const Client = ClientModule as typeof UndiciClient
const Pool = PoolModule as typeof UndiciPool
const buildConnector = buildConnectorModule as typeof undiciBuildConnector
export type Agent = UndiciAgent

export interface AgentOptions {
  /** Requests in flight per origin: as many connections over HTTP/1.1, streams of one over HTTP/2. */
  perOrigin: number
  keepAliveTimeout: number
  connectTimeout: number
}

/**
 * An Agent that speaks HTTP/2 where a registry offers it (TLS with ALPN, as public registries
 * do): once a connection says h2, up to `perOrigin` requests share it instead of a connection
 * and a TLS handshake each. Over HTTP/1.1 a connection carries one request at a time.
 */
export function registryAgent(options: AgentOptions): Agent {
  const connect = buildConnector({ allowH2: true, timeout: options.connectTimeout })
  // undici gives every connection a pipelining of 1 unless told otherwise, HTTP/2 included;
  // more for all would pipeline HTTP/1.1, so it is raised per connection once ALPN says h2
  const client = (origin: URL, clientOptions: object): UndiciClient => {
    const created: UndiciClient = new Client(origin, {
      ...clientOptions,
      connect: (connectOptions, callback) =>
        connect(connectOptions, (...answer) => {
          if ((answer[1] as { alpnProtocol?: string | false } | null)?.alpnProtocol === 'h2')
            created.pipelining = options.perOrigin
          callback(...answer)
        })
    })
    return created
  }
  return new Agent({
    keepAliveTimeout: options.keepAliveTimeout,
    factory: (origin, poolOptions) =>
      new Pool(origin, {
        ...poolOptions,
        connections: options.perOrigin,
        factory: client
      })
  })
}

type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path'>

/** `request(url, options)` of undici, on this agent. */
export function request(
  agent: UndiciAgent,
  url: string,
  options: RequestOptions
): Promise<Dispatcher.ResponseData> {
  const { origin, pathname, search } = new URL(url)
  return (
    requestModule as (
      this: UndiciAgent,
      options: Dispatcher.RequestOptions
    ) => Promise<Dispatcher.ResponseData>
  ).call(agent, { ...options, origin, path: pathname + search })
}
