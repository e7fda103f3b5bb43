import type { DriftedFinding } from '../compare/compare.js'
import { normalizePlatform } from '../reference/platform.js'
import { tagOf } from '../reference/reference.js'
import { RegistryError } from '../registry/errors.js'
import type { PlatformImage, RegistryClient } from '../registry/remote.js'
import { explain, type Explanation, type ImageFacts, type Unexplained } from './diff.js'

/** What changed inside a drifted image, or why only the digests are known. */
export type ExplainResult = Explanation | Unexplained

/**
 * Reads the old and new images of a drifted reference and explains the change, for the
 * first changed tracked platform, else the first tracked one, else the default platform
 * (or the image's only one).
 */
export async function explainDrift(
  finding: DriftedFinding,
  client: RegistryClient,
  platforms: string[]
): Promise<ExplainResult> {
  const image = tagOf(finding.parsed) ?? finding.parsed
  const wanted =
    finding.changedPlatforms?.[0] ?? (platforms[0] ? normalizePlatform(platforms[0]) : null)
  let after: PlatformImage
  try {
    after = await client.image({ ...image, digest: finding.current.digest }, wanted)
  } catch (error) {
    if (!(error instanceof RegistryError)) throw error
    return {
      platform: wanted,
      unavailable: `the new image could not be read (${error.message}); only the digests are known`
    }
  }
  try {
    const before = await client.image({ ...image, digest: finding.previous.digest }, after.platform)
    return explain(facts(before), facts(after), after.platform)
  } catch (error) {
    if (!(error instanceof RegistryError)) throw error
    return {
      platform: after.platform,
      unavailable: `the old image ${finding.previous.digest} can no longer be fetched from ${image.registry} (${error.message}); only the digests are known`
    }
  }
}

function facts(image: PlatformImage): ImageFacts {
  const { layers } = image.manifest
  return {
    digest: image.digest,
    config: image.config,
    annotations: image.annotations,
    layers: { count: layers.length, size: layers.reduce((sum, l) => sum + l.size, 0) }
  }
}
