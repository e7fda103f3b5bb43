import { formatReference, tagOf, type ImageReference } from '../reference/reference.js'
import type { FoundReference } from '../scan/types.js'
import { parseRegistryJson, RegistryError } from '../registry/errors.js'
import { indexEntries, normalizePlatform, trackedDigests } from '../registry/platforms.js'
import type { RegistryClient } from '../registry/remote.js'

/** Where a reference points now. */
export interface Resolution {
  /** Digest the tag points at now (for a digest-only reference, its own digest). */
  digest?: string
  /** Tracked platform → manifest digest, when platforms are tracked. */
  platforms?: Record<string, string>
  error?: string
}

/** The key a reference is resolved under: its tag form, or its digest form when it has no tag. */
export function resolutionKey(image: ImageReference): string {
  return formatReference(tagOf(image) ?? image)
}

/**
 * Resolves every distinct reference once, however many files name it, all at once (the
 * client bounds concurrency). Failures are per reference, never thrown.
 */
export async function resolveAll(
  references: FoundReference[],
  client: RegistryClient,
  platforms: string[] = []
): Promise<Map<string, Resolution>> {
  const distinct = new Map<string, ImageReference>()
  for (const reference of references) {
    if (reference.image)
      distinct.set(resolutionKey(reference.image), tagOf(reference.image) ?? reference.image)
  }
  const resolved = await Promise.all(
    [...distinct].map(async ([key, image]): Promise<[string, Resolution]> => {
      try {
        return [key, await resolveOne(image, client, platforms)]
      } catch (error) {
        if (!(error instanceof RegistryError)) throw error
        // every error names the reference it is about, as well as the registry
        return [
          key,
          { error: error.message.includes(key) ? error.message : `${key}: ${error.message}` }
        ]
      }
    })
  )
  return new Map(resolved)
}

async function resolveOne(
  image: ImageReference,
  client: RegistryClient,
  platforms: string[]
): Promise<Resolution> {
  if (image.tag === undefined) {
    // digest-only: the digest is the pin; nothing moves under it
    return platforms.length > 0
      ? { digest: image.digest, platforms: await platformDigests(image, client, platforms) }
      : { digest: image.digest }
  }
  if (platforms.length === 0) return { digest: await client.digest(image) }
  const manifest = await client.manifest(image)
  return {
    digest: manifest.digest,
    platforms: await platformDigests(
      { ...image, digest: manifest.digest },
      client,
      platforms,
      manifest.bytes
    )
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
  bytes?: Buffer
): Promise<Record<string, string>> {
  const manifest = bytes ?? (await client.manifest(image)).bytes
  const entries = indexEntries(manifest)
  if (entries) return trackedDigests(entries, platforms)
  const name = formatReference(image)
  const configDigest = parseRegistryJson<{ config?: { digest?: string } }>(
    manifest,
    `the manifest of ${name}`
  ).config?.digest
  if (!configDigest) return {}
  const config = parseRegistryJson<{ os?: string; architecture?: string; variant?: string }>(
    await client.blob(image, configDigest),
    `the config of ${name}`
  )
  const own = normalizePlatform([config.os, config.architecture, config.variant ?? ''].join('/'))
  const digest = image.digest!
  return platforms.some(p => normalizePlatform(p) === own) ? { [own]: digest } : {}
}

/**
 * Where a baseline entry lacks a tracked platform's digest (platforms newly tracked) and the
 * index moved, reads the old index by digest so compare can tell drift from index churn.
 * An old index that is gone leaves the entry as it is: the index digest decides.
 */
export async function fillPreviousPlatforms(
  entries: {
    image: ImageReference
    previous: { digest: string; platforms?: Record<string, string> }
    now: string
  }[],
  client: RegistryClient,
  platforms: string[]
): Promise<void> {
  await Promise.all(
    entries.map(async ({ image, previous, now }) => {
      if (
        previous.digest === now ||
        platforms.every(p => previous.platforms?.[normalizePlatform(p)])
      )
        return
      try {
        previous.platforms = await platformDigests(
          { ...image, digest: previous.digest },
          client,
          platforms
        )
      } catch (error) {
        if (!(error instanceof RegistryError)) throw error
      }
    })
  )
}
