import {
  Agent,
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse
} from 'node:http'
import { Pauses } from './pauses.js'
import { close, listen } from './ports.js'

/** One misbehaviour, applied to the next `times` requests that match. */
export interface Fault {
  method?: string
  path?: RegExp
  times?: number
  /** Answer with this status (and headers) instead of forwarding. */
  status?: number
  headers?: Record<string, string>
  /** Destroy the connection without an answer. */
  reset?: boolean
  /** Hold the request this long before forwarding. */
  stallMs?: number
  /** Forward, then drop this response header. */
  dropHeader?: string
  /** Forward, then add these response headers. */
  addHeaders?: Record<string, string>
  /** Forward, then change the body (keeping the headers). */
  corruptBody?: boolean
  /** With `status`: the body to answer with (default: a registry error for 4xx/5xx, else empty). */
  body?: string
  /** Forward, then send the body one byte every this many milliseconds. */
  dripMs?: number
  /** Answer 200 with a body of this many bytes. */
  bodyBytes?: number
  /** Forward with credentials, then redirect the client to this URL, which serves the result. */
  redirectTo?: (stored: StoredResponse) => string
}

export interface StoredResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

export interface SeenRequest {
  method: string
  path: string
  authorization: string | undefined
  /** When it arrived (Date.now()). */
  at?: number
}

/**
 * An HTTP proxy on loopback in front of a TestRegistry that injects faults and latency,
 * counts requests and the most in flight at once.
 */
export class FaultProxy {
  readonly seen: SeenRequest[] = []
  maxInFlight = 0
  /** TCP connections clients opened to the proxy. */
  connections = 0
  latencyMs = 0
  private inFlight = 0
  private readonly pauses = new Pauses()
  private faults: Fault[] = []
  private readonly upstream = new Agent({ keepAlive: true, maxSockets: 64 })
  private server: Server | null = null
  port = 0

  constructor(private readonly target: string) {}

  get host(): string {
    return `127.0.0.1:${this.port}`
  }

  inject(fault: Fault): void {
    this.faults.push({ times: 1, ...fault })
  }

  reset(): void {
    this.seen.length = 0
    this.maxInFlight = 0
    this.connections = 0
    this.faults = []
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res))
    this.server.on('connection', () => this.connections++)
    this.port = await listen(this.server)
    return this
  }

  async stop(): Promise<void> {
    this.pauses.cancelAll()
    await close(this.server)
    this.server = null
    this.upstream.destroy()
  }

  private takeFault(req: IncomingMessage): Fault | null {
    const index = this.faults.findIndex(
      f => (!f.method || f.method === req.method) && (!f.path || f.path.test(req.url ?? ''))
    )
    if (index < 0) return null
    const fault = this.faults[index]
    fault.times = (fault.times ?? 1) - 1
    if (fault.times <= 0) this.faults.splice(index, 1)
    return fault
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.seen.push({
      method: req.method ?? '',
      path: req.url ?? '',
      authorization: req.headers.authorization,
      at: Date.now()
    })
    this.inFlight++
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
    res.on('close', () => this.inFlight--)
    const fault = this.takeFault(req)
    if (this.latencyMs > 0) await this.pauses.wait(this.latencyMs)
    if (fault?.stallMs) await this.pauses.wait(fault.stallMs)
    if (res.destroyed) return
    if (fault?.reset) {
      req.socket.destroy()
      return
    }
    if (fault?.status !== undefined) {
      res
        .writeHead(fault.status, fault.headers ?? {})
        .end(
          req.method === 'HEAD'
            ? undefined
            : (fault.body ?? (fault.status >= 400 ? `{"errors":[{"code":"INJECTED"}]}` : ''))
        )
      return
    }
    if (fault?.bodyBytes !== undefined) {
      res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' })
      res.end(Buffer.alloc(fault.bodyBytes, 0x20))
      return
    }
    const stored = await this.forward(req)
    if (fault?.redirectTo) {
      res.writeHead(307, { Location: fault.redirectTo(stored) }).end()
      return
    }
    if (fault?.dropHeader) delete stored.headers[fault.dropHeader.toLowerCase()]
    Object.assign(stored.headers, fault?.addHeaders)
    let body = stored.body
    if (fault?.corruptBody && body.length > 0)
      body = Buffer.concat([body.subarray(0, body.length - 1), Buffer.from(' ')])
    res.writeHead(stored.status, stored.headers)
    if (fault?.dripMs && req.method !== 'HEAD') {
      for (let i = 0; i < body.length && !res.destroyed; i++) {
        res.write(body.subarray(i, i + 1))
        await this.pauses.wait(fault.dripMs)
      }
    }
    res.end(req.method === 'HEAD' || fault?.dripMs ? undefined : body)
  }

  private async forward(req: IncomingMessage): Promise<StoredResponse> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const target = new URL(req.url ?? '/', this.target)
    return new Promise((resolve, reject) => {
      const upstream = request(
        target,
        {
          method: req.method,
          headers: { ...endToEnd(req.headers), host: target.host },
          agent: this.upstream
        },
        response => {
          const body: Buffer[] = []
          response.on('data', chunk => body.push(chunk))
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 502,
              headers: endToEnd(response.headers),
              body: Buffer.concat(body)
            })
          )
          response.on('error', reject)
        }
      )
      upstream.on('error', reject)
      upstream.end(Buffer.concat(chunks))
    })
  }
}

/** Serves one stored response to whoever asks, recording the requests (a redirect's other host). */
export class RecordingServer {
  readonly seen: SeenRequest[] = []
  response: StoredResponse = { status: 404, headers: {}, body: Buffer.alloc(0) }
  private server: Server | null = null
  port = 0

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.seen.push({
        method: req.method ?? '',
        path: req.url ?? '',
        authorization: req.headers.authorization
      })
      res.writeHead(this.response.status, this.response.headers)
      res.end(req.method === 'HEAD' ? undefined : this.response.body)
    })
    this.port = await listen(this.server)
    return this
  }

  async stop(): Promise<void> {
    await close(this.server)
    this.server = null
  }
}

// a proxy keeps its own connections: hop-by-hop headers are not forwarded (RFC 9110 §7.6.1)
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'te',
  'trailer'
]

export function endToEnd<T extends Record<string, unknown>>(headers: T): T {
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => !HOP_BY_HOP.includes(name.toLowerCase()))
  ) as T
}
