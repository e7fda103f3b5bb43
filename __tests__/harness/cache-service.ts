import { createServer, type IncomingMessage, type Server } from 'node:http'
import { close, listen } from './ports.js'

interface Entry {
  key: string
  version: string
  blob: Buffer | null
  finalized: boolean
  createdAt: number
}

const SERVICE = '/twirp/github.actions.results.api.v1.CacheService/'

/**
 * An emulator of the Actions cache service v2, as @actions/cache talks to it: the Twirp
 * JSON endpoints under ACTIONS_RESULTS_URL and a blob endpoint for the signed URLs.
 * Restore matches the key exactly, then the newest finalized entry whose key starts with a
 * restore key; entries are immutable.
 */
export class CacheService {
  readonly entries: Entry[] = []
  readonly calls: string[] = []
  /** Answer every request with this status (the service down). */
  failAll: number | null = null
  /** Answer one Twirp method with an HTTP error and a Twirp message (`cache read denied: …`), or with 200 and `ok: false`. */
  failMethod: { method: string; status: number; msg: string } | null = null
  /** Hold every answer this long: the service is across a network from the runner. */
  latencyMs = 0
  private server: Server | null = null
  port = 0

  get url(): string {
    return `http://127.0.0.1:${this.port}/`
  }

  /** Environment that points @actions/cache at this emulator. */
  get env(): Record<string, string> {
    return {
      ACTIONS_CACHE_SERVICE_V2: 'true',
      ACTIONS_RESULTS_URL: this.url,
      ACTIONS_RUNTIME_TOKEN: 'test-runtime-token'
    }
  }

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      const body = await readBody(req)
      if (this.latencyMs > 0) await new Promise(resolve => setTimeout(resolve, this.latencyMs))
      const path = (req.url ?? '').split('?')[0]
      this.calls.push(`${req.method} ${path.replace(SERVICE, '')}`)
      if (this.failAll !== null) {
        res
          .writeHead(this.failAll, { 'Content-Type': 'application/json' })
          .end('{"code":"internal","msg":"injected"}')
        return
      }
      const json = (status: number, value: object) =>
        res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(value))
      if (this.failMethod && path === SERVICE + this.failMethod.method) {
        const { status, msg } = this.failMethod
        const body =
          status === 200 ? { ok: false, message: msg } : { code: 'permission_denied', msg }
        res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body))
        return
      }
      if (req.method === 'POST' && path.startsWith(SERVICE)) {
        const request = JSON.parse(body.toString('utf8') || '{}')
        json(200, this.rpc(path.slice(SERVICE.length), request))
        return
      }
      const blob = /^\/devstoreaccount1\/cache\/(\d+)$/.exec(path)
      const entry = blob ? this.entries[Number(blob[1])] : undefined
      if (entry && req.method === 'PUT') {
        entry.blob = body
        res
          .writeHead(201, {
            etag: `"${blob![1]}"`,
            'last-modified': new Date().toUTCString(),
            'x-ms-request-id': blob![1]
          })
          .end()
      } else if (entry?.blob && (req.method === 'GET' || req.method === 'HEAD')) {
        res.writeHead(200, {
          'Content-Type': 'application/octet-stream',
          'Content-Length': entry.blob.length
        })
        res.end(req.method === 'GET' ? entry.blob : undefined)
      } else {
        res.writeHead(404).end()
      }
    })
    this.port = await listen(this.server)
    return this
  }

  async stop(): Promise<void> {
    await close(this.server)
    this.server = null
  }

  /** Keys of the saved (finalized) entries, oldest first. */
  get savedKeys(): string[] {
    return this.entries.filter(e => e.finalized).map(e => e.key)
  }

  private rpc(method: string, request: Record<string, unknown>): object {
    const blobUrl = (index: number) => `${this.url}devstoreaccount1/cache/${index}?sig=test`
    switch (method) {
      case 'CreateCacheEntry': {
        if (this.entries.some(e => e.key === request.key && e.version === request.version)) {
          return { ok: false, message: `cache entry ${request.key} already exists` }
        }
        this.entries.push({
          key: String(request.key),
          version: String(request.version),
          blob: null,
          finalized: false,
          createdAt: Date.now()
        })
        return { ok: true, signed_upload_url: blobUrl(this.entries.length - 1) }
      }
      case 'FinalizeCacheEntryUpload': {
        const index = this.entries.findIndex(
          e => e.key === request.key && e.version === request.version && !e.finalized
        )
        if (index < 0 || !this.entries[index].blob)
          return { ok: false, message: 'nothing uploaded' }
        this.entries[index].finalized = true
        return { ok: true, entry_id: String(index + 1) }
      }
      case 'GetCacheEntryDownloadURL': {
        const usable = this.entries
          .map((e, index) => ({ e, index }))
          .filter(({ e }) => e.finalized && e.version === request.version)
        const exact = usable.find(({ e }) => e.key === request.key)
        const prefixes = (request.restore_keys as string[] | undefined) ?? []
        const byPrefix = prefixes
          .map(
            prefix =>
              usable
                .filter(({ e }) => e.key.startsWith(prefix))
                .sort((a, b) => b.e.createdAt - a.e.createdAt || b.index - a.index)[0]
          )
          .find(Boolean)
        const match = exact ?? byPrefix
        return match
          ? { ok: true, signed_download_url: blobUrl(match.index), matched_key: match.e.key }
          : { ok: false }
      }
      default:
        return { ok: false, message: `unknown method ${method}` }
    }
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}
