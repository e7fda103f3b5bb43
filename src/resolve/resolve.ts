/**
 * Resolve: each distinct reference to its current digest (and platform digests where it moved).
 */
import { normalizePlatform, platformOf } from '../reference/platform.js'
import { formatReference, tagOf, type ImageReference } from '../reference/reference.js'
import { RegistryError, type RegistryErrorKind } from '../registry/transport/errors.js'
import {
  parseConfig,
  platformEntries,
  trackedDigests,
  type Manifest
} from '../registry/manifest.js'
import type { Fetched, RegistryClient } from '../registry/remote.js'
import type { FoundReference } from '../sources/read/source.js'

/** Why a reference could not be resolved, kept typed to the report. */
export interface ResolveFailure {
  kind: RegistryErrorKind
  registry: string
  message: string
}

/** Where a reference points now, or why that is not known. */
export type Resolution =
  | {
      /** Digest the tag points at now (for a digest-only reference, its own digest). */
      digest: string
      /** Tracked platform → manifest digest, when platforms are tracked. */
      platforms?: Record<string, string>
    }
  | { failure: ResolveFailure }

/** The key a reference is resolved under: its tag form, or its digest form when it has no tag. */
export function resolutionKey(image: ImageReference): string {
  return formatReference(tagOf(image) ?? image)
}

/** References in progress at once: more than the client lets out, few enough that thousands do not wait in memory. */
const IN_PROGRESS = 256

/**
 * Resolves every distinct reference once, however many files name it, many at a time (the
 * client bounds concurrency per registry). Failures are per reference, never thrown.
 */
export async function resolveAll(
  references: FoundReference[],
  client: RegistryClient,
  platforms: string[] = [],
  /** Told after each image: how many are done of how many, and which one this was. */
  onResolved: (done: number, total: number, image: string) => void = () => undefined
): Promise<Map<string, Resolution>> {
  const distinct = new Map<string, ImageReference>()
  for (const reference of references) {
    if (reference.image)
      distinct.set(resolutionKey(reference.image), tagOf(reference.image) ?? reference.image)
  }
  const entries = [...distinct]
  const resolutions: Resolution[] = []
  let next = 0
  let done = 0
  const worker = async () => {
    while (next < entries.length) {
      const i = next++
      const [key, image] = entries[i]
      try {
        resolutions[i] = await resolveOne(image, client, platforms)
      } catch (error) {
        resolutions[i] = { failure: failureOf(error, key, image.registry) }
      }
      onResolved(++done, entries.length, key)
    }
  }
  await Promise.all(Array.from({ length: Math.min(IN_PROGRESS, entries.length) }, worker))
  // in the order the references were found, whatever order the answers came in
  return new Map(entries.map(([key], i) => [key, resolutions[i]]))
}

/** A registry error as data that names its reference; anything else is a bug and is thrown. */
function failureOf(error: unknown, key: string, registry: string): ResolveFailure {
  if (!(error instanceof RegistryError)) throw error
  return {
    kind: error.kind,
    registry: error.registry ?? registry,
    // every error names the reference it is about, as well as the registry
    message: error.message.includes(key) ? error.message : `${key}: ${error.message}`
  }
}

async function resolveOne(
  image: ImageReference,
  client: RegistryClient,
  platforms: string[]
): Promise<Resolution> {
  if (image.tag === undefined) {
    // digest-only: the digest is the pin; nothing moves under it
    const digest = image.digest ?? ''
    return platforms.length > 0
      ? { digest, platforms: await platformDigests(image, client, platforms) }
      : { digest }
  }
  if (platforms.length === 0) return { digest: await client.digest(image) }
  const top = await client.manifest(image)
  return {
    digest: top.digest,
    platforms: await platformDigests({ ...image, digest: top.digest }, client, platforms, top)
  }
}

/**
 * Tracked platform digests of an image: from its index, or, for a single-platform
 * manifest, the manifest's own digest under the platform its config names.
 */
async function platformDigests(
  image: ImageReference,
  client: RegistryClient,
  platforms: string[],
  fetched?: Fetched<Manifest>
): Promise<Record<string, string>> {
  const top = fetched ?? (await client.manifest(image))
  if (top.value.kind === 'index') return trackedDigests(platformEntries(top.value), platforms)
  const configDigest = top.value.config.digest
  const own = platformOf(
    parseConfig(await client.blob(image, configDigest), `the config of ${formatReference(image)}`)
  )
  return platforms.some(p => normalizePlatform(p) === own) ? { [own]: top.digest } : {}
}

/** An image whose index digest moved since the baseline. */
export interface MovedImage {
  /** The normalized reference, as the baseline keys it. */
  key: string
  image: ImageReference
  before: string
  after: string
  /** The platforms its references track (normalized). */
  tracked: string[]
  /** The platform digests the baseline recorded for `before`, when it did. */
  recorded?: Record<string, string>
}

/** The platforms' manifest digests in the old and the new index of a moved image. */
export interface PlatformChange {
  before: Record<string, string>
  after: Record<string, string>
  /**
   * `before` holds only the tracked platforms, as the baseline recorded them: which other
   * platforms changed is not known.
   */
  beforeTrackedOnly?: boolean
}

/**
 * Reads the new index of each image whose digest moved, once per image, and the old one
 * only when the baseline did not record the tracked platforms' digests, so that compare
 * can tell drift of a tracked platform from index churn. An index that cannot be read is
 * left out: the index digest alone decides.
 */
export async function platformChanges(
  moved: MovedImage[],
  client: RegistryClient
): Promise<Map<string, PlatformChange>> {
  const found = new Map<string, PlatformChange>()
  const all = async (image: ImageReference, digest: string) => {
    const top = await client.manifest({ ...image, digest })
    if (top.value.kind === 'index')
      return Object.fromEntries(
        platformEntries(top.value)
          .reverse()
          .map(e => [e.platform, e.digest])
      )
    return platformDigestsOfImage({ ...image, digest }, client, top)
  }
  await Promise.all(
    moved.map(async ({ key, image, before, after, tracked, recorded }) => {
      try {
        const known = recorded && tracked.every(p => recorded[p] !== undefined)
        found.set(
          key,
          known
            ? { before: recorded, after: await all(image, after), beforeTrackedOnly: true }
            : { before: await all(image, before), after: await all(image, after) }
        )
      } catch (error) {
        if (!(error instanceof RegistryError)) throw error
      }
    })
  )
  return found
}

/** A single-platform image: its own digest under the platform its config names. */
async function platformDigestsOfImage(
  image: ImageReference,
  client: RegistryClient,
  top: Fetched<Manifest>
): Promise<Record<string, string>> {
  if (top.value.kind !== 'image') return {}
  const own = platformOf(
    parseConfig(
      await client.blob(image, top.value.config.digest),
      `the config of ${formatReference(image)}`
    )
  )
  return { [own]: top.digest }
}
