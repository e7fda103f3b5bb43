/**
 * Remote operations on a registry: digests, manifests, configs, blobs and layers, each checked.
 */
import { createHash } from 'node:crypto'
import { Readable, Transform } from 'node:stream'
import { formatReference, type ImageReference } from '../reference/reference.js'
import { DEFAULT_PLATFORM, platformOf } from '../reference/platform.js'
import { Authenticator } from './auth.js'
import { Keychain, type KeychainOptions } from './credentials.js'
import { RegistryError, type RegistryErrorKind } from './transport/errors.js'
import { registryBaseUrl } from './hosts.js'
import { isRecord } from '../json.js'
import { mirrorOf, type Mirrors } from './mirrors.js'
import {
  MEDIA_TYPES,
  parseConfig,
  parseManifest,
  platformEntries,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type Manifest
} from './manifest.js'
import { Transport, type HttpResponse, type TransportOptions } from './transport/transport.js'

const MANIFEST_TYPES: readonly string[] = Object.values(MEDIA_TYPES)
const ACCEPT = MANIFEST_TYPES.join(', ')
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024
const DIGEST_HEADER = 'docker-content-digest'

/** A document fetched by digest or tag, with the digest its bytes hash to. */
export interface Fetched<T> {
  digest: string
  value: T
}

/** One platform's image: its manifest, config, and the annotations of it and its index. */
export interface PlatformImage {
  /** The platform manifest's digest. */
  digest: string
  platform: string
  manifest: ImageManifest
  config: ImageConfig
  annotations: Record<string, string>
  /** The index it was chosen from (its attestations name it); absent for a single-platform image. */
  index?: ImageIndex
}

export interface RegistryClientOptions extends TransportOptions, KeychainOptions {
  insecureRegistries?: string[]
  /** Upstream registry → the pull-through mirror its requests go to first. */
  mirrors?: Mirrors
}

export interface RegistryStats {
  requests: number
  retries: number
  tokensFetched: number
  manifestRequests: number
  /** Requests allowed open at once, per registry host, as the run ended (lower after 429/503). */
  limitedTo: Record<string, number>
  /** Docker Hub's `ratelimit-remaining` (pulls left in the window), per registry, as last seen. */
  rateLimitRemaining: Record<string, number>
  /** Each mirror that failed and was passed over for its upstream, said once. */
  mirrorFallbacks: string[]
}

/** Remote operations on registries: a tag's digest, a manifest, a blob (go-containerregistry's `remote`). */
export class RegistryClient {
  private readonly transport: Transport
  private readonly auth: Authenticator
  private readonly insecure: string[]
  private manifestRequests = 0
  private readonly rateLimit: Record<string, number> = {}
  /**
   * Manifests read in this run, by repository and digest: content-addressed and immutable,
   * so comparing platforms and explaining a drift never fetch one twice (on Docker Hub every
   * manifest GET is a pull). A run reads a handful; each is at most 4 MiB.
   */
  private readonly manifests = new Map<string, Promise<Fetched<Manifest>>>()

  private readonly mirrors: Mirrors
  /** Mirrors that failed this run: their upstream is asked directly from then on. */
  private readonly down = new Map<string, string>()

  constructor(options: RegistryClientOptions) {
    this.transport = new Transport(options)
    this.auth = new Authenticator(this.transport.send, new Keychain(options))
    this.mirrors = options.mirrors ?? {}
    this.insecure = [
      ...(options.insecureRegistries ?? []),
      ...Object.values(this.mirrors).flatMap(url =>
        url.startsWith('http:') ? [new URL(url).host] : []
      )
    ]
  }

  /**
   * An operation through the reference's mirror, else (no mirror, or one that failed) its
   * upstream. A mirror that cannot be reached, fails or lacks the image is passed over for
   * the upstream; one that cannot be reached or fails is not asked again this run.
   */
  private async through<T>(
    reference: ImageReference,
    operation: (at: ImageReference) => Promise<T>
  ): Promise<T> {
    const via = mirrorOf(reference, this.mirrors)
    if (!via || this.down.has(via.mirror.host)) return operation(reference)
    try {
      return await operation(via.reference)
    } catch (error) {
      if (!(error instanceof RegistryError) || !FALLBACK_KINDS.includes(error.kind)) throw error
      if (error.kind !== 'not-found' && !this.down.has(via.mirror.host))
        this.down.set(
          via.mirror.host,
          `the mirror ${via.mirror.host} of ${reference.registry} failed (${error.message}); ${reference.registry} was asked directly for the rest of the run`
        )
      return operation(reference)
    }
  }

  get stats(): RegistryStats {
    return {
      ...this.transport.stats,
      tokensFetched: this.auth.stats.tokensFetched,
      manifestRequests: this.manifestRequests,
      rateLimitRemaining: { ...this.rateLimit },
      mirrorFallbacks: [...this.down.values()]
    }
  }

  close(): Promise<void> {
    return this.transport.close()
  }

  /**
   * The digest a reference points at now: HEAD with the manifest Accept types, its
   * Docker-Content-Digest; where that header is missing or HEAD is refused, GET and hash.
   */
  digest(reference: ImageReference): Promise<string> {
    return this.through(reference, at => this.digestAt(at))
  }

  private async digestAt(reference: ImageReference): Promise<string> {
    const head = await this.manifestRequest(reference, 'HEAD')
    const header = head.headers[DIGEST_HEADER]
    // a 200 that is not a manifest (a proxy's login page) is read and refused, never recorded
    const type = head.headers['content-type']?.split(';')[0].trim()
    const manifestType = type === undefined || MANIFEST_TYPES.includes(type)
    if (head.status === 200 && header && isSha256(header) && manifestType) return header
    return (await this.manifestAt(reference)).digest
  }

  /** The top-level manifest of a reference (an index, for multi-platform images), parsed and checked against its digest. */
  manifest(reference: ImageReference): Promise<Fetched<Manifest>> {
    return this.through(reference, at => this.manifestAt(at))
  }

  private manifestAt(reference: ImageReference): Promise<Fetched<Manifest>> {
    const key = (digest: string) => `${reference.registry}/${reference.repository}@${digest}`
    const known = reference.digest ? this.manifests.get(key(reference.digest)) : undefined
    if (known) return known
    const fetched = this.fetchManifest(reference)
    const digest = reference.digest
    if (digest) {
      this.manifests.set(key(digest), fetched)
      // a failed read is not remembered: a retry in the same run may succeed
      fetched.catch(() => this.manifests.delete(key(digest)))
    } else
      fetched.then(
        got => this.manifests.set(key(got.digest), Promise.resolve(got)),
        () => undefined
      )
    return fetched
  }

  private async fetchManifest(reference: ImageReference): Promise<Fetched<Manifest>> {
    const response = await this.manifestRequest(reference, 'GET')
    const digest = sha256(response.body)
    const header = response.headers[DIGEST_HEADER]
    const name = formatReference(reference)
    if (header && header !== digest) {
      throw new RegistryError(
        'bad-digest',
        `${reference.registry}: ${name} came with Docker-Content-Digest ${header} but its bytes hash to ${digest}`,
        reference.registry
      )
    }
    if (reference.digest?.startsWith('sha256:') && reference.digest !== digest) {
      throw new RegistryError(
        'bad-digest',
        `${reference.registry}: asked for ${reference.digest}, got bytes hashing to ${digest}`,
        reference.registry
      )
    }
    return {
      digest,
      value: parseManifest(
        response.body,
        response.headers['content-type'],
        `the manifest of ${name}`
      )
    }
  }

  /**
   * The image a reference means for one platform: its manifest and config. `platform` null
   * takes the default platform, else an index's only entry; a single-platform image is
   * whatever platform its config names.
   */
  image(reference: ImageReference, platform: string | null): Promise<PlatformImage> {
    return this.through(reference, at => this.imageAt(at, platform))
  }

  private async imageAt(
    reference: ImageReference,
    platform: string | null
  ): Promise<PlatformImage> {
    const top = await this.manifestAt(reference)
    let manifest = top.value
    let digest = top.digest
    let chosen = platform ?? DEFAULT_PLATFORM
    if (manifest.kind === 'index') {
      const entries = platformEntries(manifest)
      const entry =
        entries.find(e => e.platform === chosen) ??
        (platform === null && entries.length === 1 ? entries[0] : undefined)
      if (!entry) {
        throw new RegistryError(
          'not-found',
          `${formatReference(reference)} has no ${chosen} image`,
          reference.registry
        )
      }
      chosen = entry.platform
      const platformManifest = await this.manifestAt({ ...reference, digest: entry.digest })
      if (platformManifest.value.kind !== 'image') {
        throw new RegistryError(
          'bad-response',
          `${entry.digest} in ${formatReference(reference)} is not an image manifest`,
          reference.registry
        )
      }
      manifest = platformManifest.value
      digest = entry.digest
    }
    const config = parseConfig(
      await this.blobAt(reference, manifest.config.digest),
      `config ${manifest.config.digest}`
    )
    if (top.value.kind === 'image' && config.os && config.architecture) chosen = platformOf(config)
    return {
      digest,
      platform: chosen,
      manifest,
      config,
      annotations: { ...top.value.annotations, ...manifest.annotations },
      ...(top.value.kind === 'index' ? { index: top.value } : {})
    }
  }

  /** A blob (an image config), by digest, checked against it. */
  blob(reference: ImageReference, digest: string, maxBytes = MAX_MANIFEST_BYTES): Promise<Buffer> {
    return this.through(reference, at => this.blobAt(at, digest, maxBytes))
  }

  private async blobAt(
    reference: ImageReference,
    digest: string,
    maxBytes = MAX_MANIFEST_BYTES
  ): Promise<Buffer> {
    const response = await this.auth.send(reference.registry, reference.repository, {
      method: 'GET',
      url: this.blobUrl(reference, digest),
      maxBodyBytes: maxBytes
    })
    this.check(
      response,
      reference,
      `blob ${digest}`,
      await this.auth.hasCredential(reference.registry)
    )
    const actual = sha256(response.body)
    if (digest.startsWith('sha256:') && actual !== digest) {
      throw new RegistryError(
        'bad-digest',
        `${reference.registry}: blob ${digest} of ${formatReference(reference)} hashes to ${actual}`,
        reference.registry
      )
    }
    return response.body
  }

  /**
   * A layer as a stream, for reading what is inside an image without holding it in memory.
   * The stream fails with a RegistryError past `maxBytes`, or at its end when the bytes do
   * not hash to the descriptor's digest; a reader may stop early.
   */
  layer(reference: ImageReference, layer: Descriptor, maxBytes: number): Promise<Readable> {
    return this.through(reference, at => this.layerAt(at, layer, maxBytes))
  }

  private async layerAt(
    reference: ImageReference,
    layer: Descriptor,
    maxBytes: number
  ): Promise<Readable> {
    const response = await this.auth.send(reference.registry, reference.repository, {
      method: 'GET',
      url: this.blobUrl(reference, layer.digest),
      stream: true
    })
    this.check(
      response,
      reference,
      `layer ${layer.digest}`,
      await this.auth.hasCredential(reference.registry)
    )
    const hash = createHash('sha256')
    let size = 0
    const checked = new Transform({
      transform(chunk: Buffer, _, done) {
        size += chunk.length
        if (size > maxBytes) {
          done(
            new RegistryError(
              'too-large',
              `layer ${layer.digest} is larger than ${maxBytes} bytes`,
              reference.registry
            )
          )
          return
        }
        hash.update(chunk)
        done(null, chunk)
      },
      flush(done) {
        const actual = 'sha256:' + hash.digest('hex')
        if (layer.digest.startsWith('sha256:') && actual !== layer.digest)
          done(
            new RegistryError(
              'bad-digest',
              `layer ${layer.digest} hashes to ${actual}`,
              reference.registry
            )
          )
        else done()
      }
    })
    const body = response.stream ?? Readable.from([response.body])
    body.on('error', error => checked.destroy(error))
    checked.on('close', () => body.destroy())
    return body.pipe(checked)
  }

  private blobUrl(reference: ImageReference, digest: string): string {
    return `${registryBaseUrl(reference.registry, this.insecure)}/v2/${reference.repository}/blobs/${digest}`
  }

  private async manifestRequest(
    reference: ImageReference,
    method: 'HEAD' | 'GET'
  ): Promise<HttpResponse> {
    const target = reference.digest ?? reference.tag ?? 'latest'
    const url = `${registryBaseUrl(reference.registry, this.insecure)}/v2/${reference.repository}/manifests/${target}`
    this.manifestRequests++
    const response = await this.auth.send(reference.registry, reference.repository, {
      method,
      url,
      headers: { Accept: ACCEPT },
      maxBodyBytes: MAX_MANIFEST_BYTES
    })
    const remaining = response.headers['ratelimit-remaining']
    if (remaining !== undefined && /^\d+/.test(remaining))
      this.rateLimit[reference.registry] = parseInt(remaining, 10)
    // a refused HEAD (405 and the like) falls back to GET; real answers are checked
    if (
      method === 'HEAD' &&
      response.status !== 200 &&
      ![401, 403, 404, 429].includes(response.status) &&
      response.status < 500
    ) {
      return response
    }
    // a HEAD answer has no body: the GET says what the registry's error is (a failed GET is no pull)
    if (method === 'HEAD' && [401, 403, 404].includes(response.status))
      return this.manifestRequest(reference, 'GET')
    this.check(response, reference, 'manifest', await this.auth.hasCredential(reference.registry))
    return response
  }

  private check(
    response: HttpResponse,
    reference: ImageReference,
    what: string,
    loggedIn = false
  ): void {
    if (response.status === 200) return
    throw registryFailure(response, reference, what, loggedIn, this.rateLimit[reference.registry])
  }
}

function isSha256(digest: string): boolean {
  return /^sha256:[a-f0-9]{64}$/.test(digest)
}

function sha256(bytes: Buffer): string {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex')
}

/**
 * What a registry's refusal means, in words that say what to do, with the registry's own
 * (its OCI error codes and messages, bounded; an HTML page as its title). Docker Hub and
 * Quay answer 401 for a repository that does not exist and for one that is private alike,
 * so without credentials both are said, as `docker pull` says them.
 */
export function registryFailure(
  response: HttpResponse,
  reference: ImageReference,
  what: string,
  loggedIn: boolean,
  remaining?: number
): RegistryError {
  const { registry } = reference
  const name = formatReference(reference)
  const said = registrySaid(response)
  const codes = said.codes
  const theirs = said.text ? `; ${registry} said: ${said.text}` : ''
  const status = `HTTP ${response.status}${codes.length > 0 ? ` ${codes.join(', ')}` : ''}`
  if (
    response.status === 404 ||
    codes.includes('NAME_UNKNOWN') ||
    codes.includes('MANIFEST_UNKNOWN')
  ) {
    if (codes.includes('NAME_UNKNOWN'))
      return new RegistryError(
        'not-found',
        `${name}: the repository ${reference.repository} does not exist on ${registry} (${status}); check the image's name`,
        registry
      )
    return new RegistryError(
      'not-found',
      what === 'manifest' && reference.tag && !reference.digest
        ? `${name}: the tag ${reference.tag} does not exist on ${registry} (${status}); check the tag, or pin a digest that exists`
        : `${name}: ${what} not found on ${registry} (${status})`,
      registry
    )
  }
  if (response.status === 401 || response.status === 403) {
    if (/expired/i.test(said.text))
      return new RegistryError(
        'unauthorized',
        `${name}: the credentials for ${registry} have expired (${status}${theirs}); log in again before this step`,
        registry
      )
    if (loggedIn)
      return new RegistryError(
        'unauthorized',
        `${name}: access denied with the credentials for ${registry} (${status}${theirs}); check that they may pull this repository`,
        registry
      )
    return new RegistryError(
      'unauthorized',
      `${name}: the repository does not exist on ${registry}, or it is private (${status}${theirs}); check the name, or log in to ${registry} (a docker/login-action step, or registry-auth)`,
      registry
    )
  }
  if (response.status === 429)
    return new RegistryError(
      'rate-limited',
      `${registry} is rate limiting pulls of ${name} (${status} after retries${theirs})${remaining !== undefined ? `; remaining quota ${remaining}` : ''}`,
      registry
    )
  if (response.status >= 500)
    return new RegistryError(
      'server',
      `${registry} answered ${status} for the ${what} of ${name}${theirs}; the registry is unavailable for now: run again later`,
      registry
    )
  return new RegistryError(
    'bad-response',
    `${registry} answered ${status} for the ${what} of ${name}${theirs}`,
    registry
  )
}

/** The most of a registry's own message quoted: a hostile body is never a report. */
const MAX_SAID_CHARS = 300

/** The OCI error codes of an error body (`{"errors":[{"code","message"}]}`), its messages, or an HTML page's title. */
function registrySaid(response: HttpResponse): { codes: string[]; text: string } {
  const body = response.body?.subarray(0, 64 * 1024).toString('utf8') ?? ''
  const oneLine = (text: string) => excerptLine(text.replace(/\s+/g, ' ').trim())
  try {
    const parsed: unknown = JSON.parse(body)
    const errors = isRecord(parsed) && Array.isArray(parsed.errors) ? parsed.errors.slice(0, 4) : []
    const field = (e: Record<string, unknown>, key: string) =>
      typeof e[key] === 'string' ? e[key] : ''
    const entries = errors
      .filter(isRecord)
      .map(e => ({ code: field(e, 'code'), message: field(e, 'message') }))
    return {
      codes: entries.map(e => e.code).filter(c => /^[A-Z_]{1,40}$/.test(c)),
      text: oneLine(
        entries
          .map(e => e.message)
          .filter(Boolean)
          .join('; ')
      )
    }
  } catch {
    const title = /<title[^>]*>([^<]{0,300})/i.exec(body)?.[1]
    return { codes: [], text: title ? oneLine(title) : /^\s*</.test(body) ? '' : oneLine(body) }
  }
}

function excerptLine(text: string): string {
  return text.length > MAX_SAID_CHARS ? `${text.slice(0, MAX_SAID_CHARS)}…` : text
}

/** What makes a mirror be passed over for its upstream: it is not there, failing, or lacks the image. */
const FALLBACK_KINDS: readonly RegistryErrorKind[] = [
  'network',
  'timeout',
  'server',
  'not-found',
  'bad-response'
]
