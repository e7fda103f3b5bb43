/**
 * The typed OCI / Docker manifest model (go-containerregistry's `v1.Manifest` and
 * `v1.IndexManifest`): registry JSON is parsed and checked here once, and nowhere else.
 */
import { normalizePlatform, platformOf } from '../reference/platform.js'
import { isDigest } from '../reference/digest.js'
import { RegistryError } from './transport/errors.js'
import { isRecord } from '../json.js'

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json'
} as const

const INDEX_TYPES: readonly string[] = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList]
const IMAGE_TYPES: readonly string[] = [MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest]

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  platform?: { os?: string; architecture?: string; variant?: string }
  annotations: Record<string, string>
}

export interface ImageIndex {
  kind: 'index'
  mediaType: string
  manifests: Descriptor[]
  annotations: Record<string, string>
}

export interface ImageManifest {
  kind: 'image'
  mediaType: string
  config: Descriptor
  layers: Descriptor[]
  annotations: Record<string, string>
}

export type Manifest = ImageIndex | ImageManifest

/** The parts of an image config that tell its platform and explain a change. */
export interface ImageConfig {
  os?: string
  architecture?: string
  variant?: string
  created?: string
  config?: { Env?: string[] | null; Labels?: Record<string, string> | null }
  history?: { created_by?: string }[]
}

/** A platform entry of an index, attestations left out. */
export interface PlatformEntry {
  digest: string
  platform: string
}

/** JSON a registry served; a RegistryError naming `what` when it is not JSON. */
export function parseRegistryJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'))
  } catch {
    throw new RegistryError('bad-response', `${what} is not valid JSON`)
  }
}

/**
 * Parses a manifest or index. The media type comes from the document, else from the
 * response's Content-Type; anything that is not one of the four manifest types (a proxy's
 * HTML page, a schema 1 manifest) is a RegistryError, never a digest to record.
 */
export function parseManifest(
  bytes: Buffer,
  contentType: string | undefined,
  what: string
): Manifest {
  const document = parseRegistryJson(bytes, what)
  if (!isRecord(document)) throw notManifest(what, 'not a JSON object')
  const header = contentType?.split(';')[0].trim()
  const mediaType =
    typeof document.mediaType === 'string'
      ? document.mediaType
      : header && header !== 'application/json'
        ? header
        : Array.isArray(document.manifests)
          ? MEDIA_TYPES.ociIndex
          : MEDIA_TYPES.ociManifest
  const annotations = stringMap(document.annotations)
  if (INDEX_TYPES.includes(mediaType)) {
    if (!Array.isArray(document.manifests)) throw notManifest(what, 'an index without "manifests"')
    return {
      kind: 'index',
      mediaType,
      manifests: document.manifests.map((d, i) => descriptor(d, `${what}, manifests[${i}]`)),
      annotations
    }
  }
  if (IMAGE_TYPES.includes(mediaType)) {
    const layers = Array.isArray(document.layers) ? document.layers : []
    return {
      kind: 'image',
      mediaType,
      config: descriptor(document.config, `${what}, config`),
      layers: layers.map((d, i) => descriptor(d, `${what}, layers[${i}]`)),
      annotations
    }
  }
  throw notManifest(what, `media type "${mediaType}"`)
}

/** An image config blob. */
export function parseConfig(bytes: Buffer, what: string): ImageConfig {
  const document = parseRegistryJson(bytes, what)
  if (!isRecord(document)) throw new RegistryError('bad-response', `${what} is not a JSON object`)
  // only the fields read, each of the type it must have: `"history": 5` or `"Env": [1]` from a
  // registry are left out, never a crash further on
  const doc = document
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined)
  const inner = isRecord(doc.config) ? doc.config : {}
  const labels = isRecord(inner.Labels)
    ? Object.fromEntries(
        Object.entries(inner.Labels).filter(
          (entry): entry is [string, string] => typeof entry[1] === 'string'
        )
      )
    : null
  return {
    ...(text(doc.os) !== undefined ? { os: text(doc.os) } : {}),
    ...(text(doc.architecture) !== undefined ? { architecture: text(doc.architecture) } : {}),
    ...(text(doc.variant) !== undefined ? { variant: text(doc.variant) } : {}),
    ...(text(doc.created) !== undefined ? { created: text(doc.created) } : {}),
    config: {
      Env: Array.isArray(inner.Env) ? inner.Env.filter(e => typeof e === 'string') : null,
      Labels: labels
    },
    history: Array.isArray(doc.history)
      ? doc.history.filter(isRecord).map(h => {
          const createdBy = text(h.created_by)
          return createdBy !== undefined ? { created_by: createdBy } : {}
        })
      : []
  }
}

/** BuildKit's attestation manifests: `unknown/unknown` entries that point at an image. */
export function isAttestation(d: Descriptor): boolean {
  return (
    d.annotations['vnd.docker.reference.type'] === 'attestation-manifest' ||
    (d.platform?.os === 'unknown' && d.platform.architecture === 'unknown')
  )
}

/** The platform entries of an index, attestations and entries without a platform left out. */
export function platformEntries(index: ImageIndex): PlatformEntry[] {
  return index.manifests
    .filter(d => d.platform?.os && d.platform.architecture && !isAttestation(d))
    .map(d => ({ digest: d.digest, platform: platformOf(d.platform ?? {}) }))
}

/** Tracked platform → digest, for the tracked platforms the index has (first entry wins). */
export function trackedDigests(
  entries: PlatformEntry[],
  tracked: string[]
): Record<string, string> {
  const digests: Record<string, string> = {}
  for (const platform of tracked) {
    const entry = entries.find(e => e.platform === normalizePlatform(platform))
    if (entry) digests[normalizePlatform(platform)] = entry.digest
  }
  return digests
}

function descriptor(value: unknown, what: string): Descriptor {
  if (!isRecord(value) || !isDigest(value.digest))
    throw notManifest(what, 'a descriptor without a valid digest')
  const platform = isRecord(value.platform)
    ? {
        os: stringOr(value.platform.os),
        architecture: stringOr(value.platform.architecture),
        variant: stringOr(value.platform.variant)
      }
    : undefined
  return {
    mediaType: typeof value.mediaType === 'string' ? value.mediaType : '',
    digest: value.digest,
    size: typeof value.size === 'number' && value.size >= 0 ? value.size : 0,
    ...(platform ? { platform } : {}),
    annotations: stringMap(value.annotations)
  }
}

function notManifest(what: string, why: string): RegistryError {
  return new RegistryError('bad-response', `${what} is not an image manifest or index (${why})`)
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

function stringMap(value: unknown): Record<string, string> {
  if (!isRecord(value)) return {}
  return Object.fromEntries(
    Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string')
  )
}
