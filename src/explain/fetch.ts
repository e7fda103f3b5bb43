import type { Finding } from '../compare/compare.js'
import { tagOf, type ImageReference } from '../reference/reference.js'
import { parseRegistryJson, RegistryError } from '../registry/errors.js'
import { indexEntries, normalizePlatform } from '../registry/platforms.js'
import type { RegistryClient } from '../registry/remote.js'
import {
  explain,
  type Explanation,
  type ImageConfig,
  type ImageFacts,
  type Unexplained
} from './diff.js'

const DEFAULT_PLATFORM = 'linux/amd64'

/**
 * Fetches the old and new image configs of a drifted reference and explains the change,
 * for the first changed tracked platform, else linux/amd64, else the image's only platform.
 */
export async function explainDrift(
  finding: Finding,
  client: RegistryClient,
  platforms: string[]
): Promise<Explanation | Unexplained> {
  const image = tagOf(finding.reference.image!)!
  const wanted =
    finding.changedPlatforms?.[0] ?? (platforms[0] ? normalizePlatform(platforms[0]) : null)
  let after: { facts: ImageFacts; platform: string }
  try {
    after = await facts(client, image, finding.current!.digest, wanted)
  } catch (error) {
    if (!(error instanceof RegistryError)) throw error
    return {
      platform: wanted,
      unavailable: `the new image could not be read (${error.message}); only the digests are known`
    }
  }
  try {
    const before = await facts(client, image, finding.previous!.digest, after.platform)
    return explain(before.facts, after.facts, after.platform)
  } catch (error) {
    if (!(error instanceof RegistryError)) throw error
    return {
      platform: after.platform,
      unavailable: `the old image ${finding.previous!.digest} can no longer be fetched from ${image.registry} (${error.message}); only the digests are known`
    }
  }
}

async function facts(
  client: RegistryClient,
  image: ImageReference,
  digest: string,
  wanted: string | null
): Promise<{ facts: ImageFacts; platform: string }> {
  let manifest = await client.manifest({ ...image, digest })
  const entries = indexEntries(manifest.bytes)
  let annotations = annotationsOf(manifest.bytes)
  let platform = wanted ?? DEFAULT_PLATFORM
  if (entries) {
    const entry =
      entries.find(e => e.platform === platform) ??
      (wanted === null
        ? (entries.find(e => e.platform === DEFAULT_PLATFORM) ??
          (entries.length === 1 ? entries[0] : undefined))
        : undefined)
    if (!entry) throw new RegistryError('not-found', `${digest} has no ${platform} image`)
    platform = entry.platform
    manifest = await client.manifest({ ...image, digest: entry.digest })
    annotations = { ...annotations, ...annotationsOf(manifest.bytes) }
  }
  const body = parseRegistryJson<{ config?: { digest?: string }; layers?: { size?: number }[] }>(
    manifest.bytes,
    `manifest ${manifest.digest}`
  )
  if (!body.config?.digest)
    throw new RegistryError('bad-response', `${digest} is not an image manifest`)
  const config = parseRegistryJson<
    ImageConfig & { os?: string; architecture?: string; variant?: string }
  >(await client.blob(image, body.config.digest), `config ${body.config.digest}`)
  if (!entries && config.os && config.architecture)
    platform = normalizePlatform([config.os, config.architecture, config.variant ?? ''].join('/'))
  const layers = body.layers ?? []
  return {
    facts: {
      digest,
      config,
      annotations,
      layers: { count: layers.length, size: layers.reduce((sum, l) => sum + (l.size ?? 0), 0) }
    },
    platform
  }
}

function annotationsOf(bytes: Buffer): Record<string, string> {
  try {
    return (
      (JSON.parse(bytes.toString('utf8')) as { annotations?: Record<string, string> })
        .annotations ?? {}
    )
  } catch {
    return {}
  }
}
