import { Agent, request, type IncomingMessage, type ServerResponse } from 'node:http'
import {
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse
} from 'node:http2'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import { endToEnd } from './fault-proxy.js'
import { Pauses } from './pauses.js'
import { selfSignedCert } from './tls-cert.js'

export type FrontProtocol = 'h2' | 'http/1.1'

/**
 * TLS in front of a TestRegistry, as public registries are served: HTTP/2 offered by ALPN
 * (with HTTP/1.1 for clients that do not ask for it), or HTTP/1.1 alone. It records the
 * protocol of each request, the TLS connections, and the most requests one connection had
 * in flight at once. Reached as 0.0.0.0:port, which the client treats as a remote registry;
 * clients trust it through NODE_EXTRA_CA_CERTS=certPath.
 */
export class TlsFront {
  /** Each request: its HTTP version ('2.0' or '1.1'), path, and arrival (Date.now()). */
  readonly seen: { version: string; path: string; at: number }[] = []
  connections = 0
  maxInFlight = 0
  maxInFlightPerConnection = 0
  latencyMs = 0
  /** Cut the connection of this request (the first is 1), with the streams it carries. */
  cutAfter = 0
  port = 0
  readonly certPath: string
  private readonly keyPath: string
  private inFlight = 0
  private readonly inFlightPer = new Map<object, number>()
  private readonly sockets = new Set<Socket>()
  private readonly pauses = new Pauses()
  private readonly upstream = new Agent({ keepAlive: true, maxSockets: 64 })
  private server: Http2SecureServer | HttpsServer | null = null

  constructor(
    private readonly target: string,
    dir: string,
    private readonly protocol: FrontProtocol
  ) {
    this.certPath = join(dir, 'front-cert.pem')
    this.keyPath = join(dir, 'front-key.pem')
  }

  get host(): string {
    return `0.0.0.0:${this.port}`
  }

  async start(): Promise<this> {
    const tls = selfSignedCert(this.certPath, this.keyPath, 'IP:0.0.0.0')
    const handler = (req: FrontRequest, res: FrontResponse) => void this.handle(req, res)
    const server =
      this.protocol === 'h2'
        ? createSecureServer({ ...tls, allowHTTP1: true }, handler)
        : createHttpsServer(tls, handler)
    server.on('secureConnection', (socket: Socket) => {
      this.connections++
      this.sockets.add(socket)
      socket.on('close', () => this.sockets.delete(socket))
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    this.port = typeof address === 'object' && address ? address.port : 0
    this.server = server
    return this
  }

  reset(): void {
    this.seen.length = 0
    this.connections = 0
    this.maxInFlight = 0
    this.maxInFlightPerConnection = 0
  }

  async stop(): Promise<void> {
    const server = this.server
    this.server = null
    this.pauses.cancelAll()
    for (const socket of this.sockets) socket.destroy()
    if (server) await new Promise(resolve => server.close(resolve))
    this.upstream.destroy()
  }

  private async handle(req: FrontRequest, res: FrontResponse): Promise<void> {
    const arrival = this.seen.push({
      version: req.httpVersion,
      path: req.url ?? '',
      at: Date.now()
    })
    // one key per connection: an HTTP/2 request's socket is a proxy of its own stream
    const socket: object = ('stream' in req ? req.stream.session : req.socket) ?? req
    const inFlight = (this.inFlightPer.get(socket) ?? 0) + 1
    this.inFlightPer.set(socket, inFlight)
    this.maxInFlightPerConnection = Math.max(this.maxInFlightPerConnection, inFlight)
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight)
    res.on('close', () => {
      this.inFlight--
      this.inFlightPer.set(socket, (this.inFlightPer.get(socket) ?? 1) - 1)
    })
    if (this.latencyMs > 0) await this.pauses.wait(this.latencyMs)
    if (!this.server) return
    if (arrival === this.cutAfter) {
      if ('stream' in req) req.stream.session?.destroy()
      else req.socket.destroy()
      return
    }
    const target = new URL(req.url ?? '/', this.target)
    // HTTP/2 pseudo-headers (":path" and the like) are not headers of the HTTP/1.1 upstream
    const headers = Object.fromEntries(
      Object.entries(endToEnd(req.headers)).filter(([name]) => !name.startsWith(':'))
    )
    const upstream = request(
      target,
      { method: req.method, headers: { ...headers, host: target.host }, agent: this.upstream },
      response => {
        ;(res as ServerResponse).writeHead(response.statusCode ?? 502, endToEnd(response.headers))
        response.pipe(res)
      }
    )
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  }
}

type FrontRequest = IncomingMessage | Http2ServerRequest
type FrontResponse = ServerResponse | Http2ServerResponse
