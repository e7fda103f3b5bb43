import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { close, listen } from './ports.js'

interface Entry {
  key: string
  version: string
  /** The ref whose runs saved it: only runs that may read this scope restore it. */
  scope: string
  blob: Buffer | null
  finalized: boolean
  createdAt: number
  lastAccessedAt: number
}

/** A scope of the run's token, as GitHub writes them into the `ac` claim. */
export interface TokenScope {
  Scope: string
  /** 1 read, 2 write, 3 both. */
  Permission: number
}

/** The signature of every signed blob URL: the cache library masks it in the log. */
export const CACHE_SIGNATURE = 'emulator-signature'
const SERVICE = '/twirp/github.actions.results.api.v1.CacheService/'
const DAY_MS = 24 * 60 * 60 * 1000
/** GitHub removes cache entries that have not been accessed in over 7 days. */
export const EVICTION_MS = 7 * DAY_MS
const READ = 1
const WRITE = 2

/**
 * An emulator of the Actions cache service v2, as @actions/cache talks to it (the Twirp
 * JSON endpoints under ACTIONS_RESULTS_URL and a blob endpoint for the signed URLs), keeping
 * GitHub's rules:
 * - the run's token says which refs' caches it may read and which one it writes (the `ac`
 *   claim: the run's own ref first, then the base branch of a pull request, then the
 *   default branch); an entry lives in the scope of the ref that saved it;
 * - restore searches scope by scope in that order; in each, the exact key, then the newest
 *   entry whose key starts with the key, then the same for each restore key;
 * - keys are immutable per scope, and one being created is taken; a token without a writable scope cannot save
 *   (`cache write denied: …`), one without a readable scope cannot restore;
 * - entries unused for 7 days are evicted, on a clock the test moves (`advanceDays`).
 * With `protocol: 'v1'` it speaks the REST protocol GHES and older runners use instead
 * (ACTIONS_CACHE_URL, `_apis/artifactcache/`: look up, reserve, upload chunks, commit), by
 * the same rules.
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
  /** The service's clock, in ms: entries are stamped with it and evicted by it. */
  private now = Date.now()
  private server: Server | null = null
  port = 0

  constructor(private readonly protocol: 'v1' | 'v2' = 'v2') {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/`
  }

  /** Environment that points @actions/cache at this emulator; each run adds its own token. */
  get env(): Record<string, string> {
    return this.protocol === 'v1'
      ? { ACTIONS_CACHE_URL: this.url }
      : { ACTIONS_CACHE_SERVICE_V2: 'true', ACTIONS_RESULTS_URL: this.url }
  }

  /** Moves the service's clock on: what nobody used meanwhile is evicted on the next request. */
  advanceDays(days: number): void {
    this.now += days * DAY_MS
  }

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      const body = await readBody(req)
      if (this.latencyMs > 0) await new Promise(resolve => setTimeout(resolve, this.latencyMs))
      const [path, search = ''] = (req.url ?? '').split('?')
      this.calls.push(`${req.method} ${path.replace(SERVICE, '')}`)
      this.now += 1 // every request is later than the one before: "newest" is never a tie
      this.evict()
      const json = (status: number, value: object) =>
        res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(value))
      if (this.failAll !== null) {
        json(this.failAll, { code: 'internal', msg: 'injected' })
        return
      }
      if (this.failMethod && path === SERVICE + this.failMethod.method) {
        const { status, msg } = this.failMethod
        json(
          status,
          status === 200 ? { ok: false, message: msg } : { code: 'permission_denied', msg }
        )
        return
      }
      const rest = /^\/_apis\/artifactcache\/(cache|caches)(?:\/(\d+))?$/.exec(path)
      if (rest && this.protocol === 'v1') {
        const scopes = scopesOf(req.headers.authorization)
        if (scopes === null) return json(401, { message: 'no valid runtime token' })
        const [status, answer] = this.rest(req, rest[2], new URLSearchParams(search), body, scopes)
        if (answer === null) res.writeHead(status).end()
        else json(status, answer)
        return
      }
      if (req.method === 'POST' && path.startsWith(SERVICE) && this.protocol === 'v2') {
        const scopes = scopesOf(req.headers.authorization)
        if (scopes === null) {
          json(401, { code: 'unauthenticated', msg: 'no valid runtime token' })
          return
        }
        const request = JSON.parse(body.toString('utf8') || '{}')
        const [status, answer] = this.rpc(path.slice(SERVICE.length), request, scopes)
        json(status, answer)
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

  /** Keys of the saved (finalized) entries that are still there, oldest first. */
  get savedKeys(): string[] {
    return this.live.map(e => e.key)
  }

  /** Keys saved in one ref's scope, oldest first. */
  keysIn(scope: string): string[] {
    return this.live.filter(e => e.scope === scope).map(e => e.key)
  }

  /** The key a restore by a prefix of it finds in a scope: the newest saved, as GitHub orders them. */
  newestIn(scope: string): string | undefined {
    return this.live.filter(e => e.scope === scope).sort((a, b) => b.createdAt - a.createdAt)[0]
      ?.key
  }

  /** The stored bytes of a saved entry (a tar archive): tests read what a run recorded. */
  blobOf(key: string): Buffer {
    const entry = this.live.find(e => e.key === key)
    if (!entry?.blob) throw new Error(`no saved entry ${key}`)
    return entry.blob
  }

  /** What the files of a saved entry say, as tar extracts them (zstd or gzip, by their magic). */
  savedText(key: string): string {
    const dir = mkdtempSync(join(tmpdir(), 'bid-cache-entry-'))
    try {
      const archive = join(dir, 'entry.tar')
      writeFileSync(archive, this.blobOf(key))
      return execFileSync('tar', ['-xOf', archive], { encoding: 'utf8' })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }

  /** Replaces what a saved entry holds with other files: an archive whose file is not where the step looks. */
  rewriteEntry(key: string, files: Record<string, string>): void {
    const entry = this.live.find(e => e.key === key)
    if (!entry) throw new Error(`no saved entry ${key}`)
    const dir = mkdtempSync(join(tmpdir(), 'bid-cache-entry-'))
    try {
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, 'files', path)), { recursive: true })
        writeFileSync(join(dir, 'files', path), text)
      }
      const archive = join(dir, 'entry.tgz')
      execFileSync('tar', ['-z', '-cf', archive, '-C', join(dir, 'files'), ...Object.keys(files)])
      entry.blob = readFileSync(archive)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }

  /**
   * A save that reserved `key` beside the saved entry `like` (same scope and version) and never
   * finished: its job was cancelled between the reservation and the upload.
   */
  abandonReservation(key: string, like: string): void {
    const entry = this.live.find(e => e.key === like)
    if (!entry) throw new Error(`no saved entry ${like}`)
    this.entries.push({ ...entry, key, blob: null, finalized: false, createdAt: this.now })
  }

  private get live(): Entry[] {
    return this.entries.filter(e => e.finalized && e.blob !== null)
  }

  private evict(): void {
    for (const entry of this.entries)
      if (entry.finalized && this.now - entry.lastAccessedAt > EVICTION_MS) entry.blob = null
  }

  private rpc(
    method: string,
    request: Record<string, unknown>,
    scopes: TokenScope[]
  ): [number, object] {
    const blobUrl = (index: number) =>
      `${this.url}devstoreaccount1/cache/${index}?sig=${CACHE_SIGNATURE}`
    const writable = scopes.find(s => (s.Permission & WRITE) !== 0)?.Scope
    switch (method) {
      case 'CreateCacheEntry': {
        if (!writable)
          return [
            200,
            { ok: false, message: 'cache write denied: the token of this run is read-only' }
          ]
        // a key is taken while another job creates it, not only once saved: that job's
        // library says "another job may be creating this cache" (an evicted key is free)
        const taken = this.entries.some(
          e =>
            e.scope === writable &&
            e.key === request.key &&
            e.version === request.version &&
            (!e.finalized || e.blob !== null)
        )
        if (taken)
          return [
            200,
            {
              ok: false,
              message: 'cache entry with the same key, version, and scope already exists'
            }
          ]
        this.entries.push({
          key: String(request.key),
          version: String(request.version),
          scope: writable,
          blob: null,
          finalized: false,
          createdAt: this.now,
          lastAccessedAt: this.now
        })
        return [200, { ok: true, signed_upload_url: blobUrl(this.entries.length - 1) }]
      }
      case 'FinalizeCacheEntryUpload': {
        const index = this.entries.findIndex(
          e =>
            e.scope === writable &&
            e.key === request.key &&
            e.version === request.version &&
            !e.finalized
        )
        if (index < 0 || !this.entries[index].blob)
          return [200, { ok: false, message: 'nothing uploaded' }]
        this.entries[index].finalized = true
        this.entries[index].createdAt = this.now
        this.entries[index].lastAccessedAt = this.now
        return [200, { ok: true, entry_id: String(index + 1) }]
      }
      case 'GetCacheEntryDownloadURL': {
        const readable = scopes.filter(s => (s.Permission & READ) !== 0).map(s => s.Scope)
        if (readable.length === 0)
          return [403, { code: 'permission_denied', msg: 'cache read denied: no readable scope' }]
        const keys = [String(request.key), ...((request.restore_keys as string[]) ?? [])]
        const match = this.lookup(readable, keys, String(request.version))
        if (!match) return [200, { ok: false }]
        match.lastAccessedAt = this.now
        return [
          200,
          {
            ok: true,
            signed_download_url: blobUrl(this.entries.indexOf(match)),
            matched_key: match.key
          }
        ]
      }
      default:
        return [200, { ok: false, message: `unknown method ${method}` }]
    }
  }

  /** The v1 REST protocol: the same entries and rules as the Twirp methods. */
  private rest(
    req: IncomingMessage,
    id: string | undefined,
    query: URLSearchParams,
    body: Buffer,
    scopes: TokenScope[]
  ): [number, object | null] {
    const writable = scopes.find(s => (s.Permission & WRITE) !== 0)?.Scope
    const entry = id === undefined ? undefined : this.entries[Number(id) - 1]
    if (req.method === 'GET' && id === undefined) {
      const readable = scopes.filter(s => (s.Permission & READ) !== 0).map(s => s.Scope)
      if (readable.length === 0) return [403, { message: 'cache read denied: no readable scope' }]
      const keys = (query.get('keys') ?? '').split(',')
      const match = this.lookup(readable, keys, query.get('version') ?? '')
      if (!match) return [204, null]
      match.lastAccessedAt = this.now
      return [
        200,
        {
          cacheKey: match.key,
          scope: match.scope,
          archiveLocation: `${this.url}devstoreaccount1/cache/${this.entries.indexOf(match)}?sig=${CACHE_SIGNATURE}`
        }
      ]
    }
    if (req.method === 'POST' && id === undefined) {
      if (!writable)
        return [403, { message: 'cache write denied: the token of this run is read-only' }]
      const request = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>
      const taken = this.entries.some(
        e => e.scope === writable && e.key === request.key && e.version === request.version
      )
      if (taken) return [409, { message: `Cache already exists. Key: ${String(request.key)}` }]
      this.entries.push({
        key: String(request.key),
        version: String(request.version),
        scope: writable,
        blob: Buffer.alloc(0),
        finalized: false,
        createdAt: this.now,
        lastAccessedAt: this.now
      })
      return [201, { cacheId: this.entries.length }]
    }
    if (!entry || entry.finalized || entry.scope !== writable)
      return [404, { message: 'no such cache' }]
    if (req.method === 'PATCH') {
      const start = Number(/^bytes (\d+)-/.exec(String(req.headers['content-range']))?.[1] ?? 0)
      const blob = Buffer.alloc(Math.max(entry.blob!.length, start + body.length))
      entry.blob!.copy(blob)
      body.copy(blob, start)
      entry.blob = blob
      return [204, null]
    }
    const { size } = JSON.parse(body.toString('utf8') || '{}') as { size?: number }
    if (size !== entry.blob!.length) return [400, { message: 'size does not match the upload' }]
    entry.finalized = true
    entry.createdAt = entry.lastAccessedAt = this.now
    return [204, null]
  }

  /** GitHub's order: scope by scope; in each, per key, the exact key, then the newest with it as prefix. */
  private lookup(scopes: string[], keys: string[], version: string): Entry | undefined {
    for (const scope of scopes) {
      const usable = this.live.filter(e => e.scope === scope && e.version === version)
      for (const key of keys) {
        const exact = usable.find(e => e.key === key)
        if (exact) return exact
        const newest = usable
          .filter(e => e.key.startsWith(key))
          .sort((a, b) => b.createdAt - a.createdAt)[0]
        if (newest) return newest
      }
    }
    return undefined
  }
}

/** The runtime token GitHub gives a run: a JWT whose `ac` claim lists its cache scopes. */
export function runtimeToken(scopes: TokenScope[]): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ ac: JSON.stringify(scopes) })}.test`
}

function scopesOf(authorization: string | undefined): TokenScope[] | null {
  const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1]
  try {
    const claims = JSON.parse(Buffer.from(token!.split('.')[1], 'base64url').toString('utf8'))
    const scopes = JSON.parse(claims.ac) as TokenScope[]
    return Array.isArray(scopes) ? scopes : null
  } catch {
    return null
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}
