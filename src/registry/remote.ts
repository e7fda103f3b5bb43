import { createHash } from 'node:crypto'
import { formatReference, type ImageReference } from '../reference/reference.js'
import { Authenticator } from './auth.js'
import { Keychain, type KeychainOptions } from './credentials.js'
import { RegistryError } from './errors.js'
import { registryBaseUrl } from './hosts.js'
import { Transport, type HttpResponse, type TransportOptions } from './transport.js'

const MANIFEST_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json'
} as const
const ACCEPT = Object.values(MANIFEST_TYPES).join(', ')
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024
const DIGEST_HEADER = 'docker-content-digest'

export interface Manifest {
  digest: string
  mediaType: string
  bytes: Buffer
}

export interface RegistryClientOptions extends TransportOptions, KeychainOptions {
  insecureRegistries?: string[]
}

export interface RegistryStats {
  requests: number
  retries: number
  tokensFetched: number
  manifestRequests: number
  /** Docker Hub's `ratelimit-remaining` (pulls left in the window), per registry, as last seen. */
  rateLimitRemaining: Record<string, number>
}

/** Remote operations on registries: a tag's digest, a manifest, a blob (go-containerregistry's `remote`). */
export class RegistryClient {
  private readonly transport: Transport
  private readonly auth: Authenticator
  private readonly insecure: string[]
  private manifestRequests = 0
  private readonly rateLimit: Record<string, number> = {}

  constructor(options: RegistryClientOptions) {
    this.transport = new Transport(options)
    this.auth = new Authenticator(this.transport, new Keychain(options))
    this.insecure = options.insecureRegistries ?? []
  }

  get stats(): RegistryStats {
    return {
      ...this.transport.stats,
      tokensFetched: this.auth.stats.tokensFetched,
      manifestRequests: this.manifestRequests,
      rateLimitRemaining: { ...this.rateLimit }
    }
  }

  close(): Promise<void> {
    return this.transport.close()
  }

  /**
   * The digest a reference points at now: HEAD with the manifest Accept types, its
   * Docker-Content-Digest; where that header is missing or HEAD is refused, GET and hash.
   */
  async digest(reference: ImageReference): Promise<string> {
    const head = await this.manifestRequest(reference, 'HEAD')
    const header = head.headers[DIGEST_HEADER]
    if (head.status === 200 && header && isSha256(header)) return header
    return (await this.manifest(reference)).digest
  }

  /** The manifest bytes, checked against their digest (and against the reference's, when pinned). */
  async manifest(reference: ImageReference): Promise<Manifest> {
    const response = await this.manifestRequest(reference, 'GET')
    const digest = 'sha256:' + createHash('sha256').update(response.body).digest('hex')
    const header = response.headers[DIGEST_HEADER]
    const name = formatReference(reference)
    if (header && header !== digest) {
      throw new RegistryError(
        'bad-digest',
        `${reference.registry}: ${name} came with Docker-Content-Digest ${header} but its bytes hash to ${digest}`
      )
    }
    if (reference.digest?.startsWith('sha256:') && reference.digest !== digest) {
      throw new RegistryError(
        'bad-digest',
        `${reference.registry}: asked for ${reference.digest}, got bytes hashing to ${digest}`
      )
    }
    return { digest, mediaType: mediaTypeOf(response), bytes: response.body }
  }

  /** A blob (an image config), by digest, checked against it. */
  async blob(
    reference: ImageReference,
    digest: string,
    maxBytes = MAX_MANIFEST_BYTES
  ): Promise<Buffer> {
    const url = `${registryBaseUrl(reference.registry, this.insecure)}/v2/${reference.repository}/blobs/${digest}`
    const response = await this.auth.send(reference.registry, reference.repository, {
      method: 'GET',
      url,
      maxBodyBytes: maxBytes
    })
    this.check(response, reference, `blob ${digest}`)
    const actual = 'sha256:' + createHash('sha256').update(response.body).digest('hex')
    if (digest.startsWith('sha256:') && actual !== digest) {
      throw new RegistryError(
        'bad-digest',
        `${reference.registry}: blob ${digest} of ${formatReference(reference)} hashes to ${actual}`
      )
    }
    return response.body
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
    this.check(response, reference, 'manifest')
    return response
  }

  private check(response: HttpResponse, reference: ImageReference, what: string): void {
    if (response.status === 200) return
    const { registry } = reference
    const name = formatReference(reference)
    switch (response.status) {
      case 401:
      case 403:
        throw new RegistryError(
          'unauthorized',
          `log in to ${registry}: pulling ${name} was refused (HTTP ${response.status}); add a docker/login-action step or registry-auth for ${registry}`
        )
      case 404:
        throw new RegistryError(
          'not-found',
          what === 'manifest' && reference.tag && !reference.digest
            ? `${name}: the tag ${reference.tag} no longer exists on ${registry} (HTTP 404)`
            : `${name}: ${what} not found on ${registry} (HTTP 404)`
        )
      case 429: {
        const remaining = this.rateLimit[registry]
        throw new RegistryError(
          'rate-limited',
          `${registry} is rate limiting pulls of ${name} (HTTP 429 after retries)${remaining !== undefined ? `; remaining quota ${remaining}` : ''}`
        )
      }
      default:
        throw new RegistryError(
          response.status >= 500 ? 'server' : 'bad-response',
          `${registry} answered HTTP ${response.status} for the ${what} of ${name}`
        )
    }
  }
}

function mediaTypeOf(response: HttpResponse): string {
  const header = response.headers['content-type']?.split(';')[0].trim()
  if (header && header !== 'application/json') return header
  try {
    return (
      (JSON.parse(response.body.toString('utf8')) as { mediaType?: string }).mediaType ??
      header ??
      ''
    )
  } catch {
    return header ?? ''
  }
}

function isSha256(digest: string): boolean {
  return /^sha256:[a-f0-9]{64}$/.test(digest)
}
