/**
 * Explain: reads the old and new images of a drift from the registry and says what changed between them.
 */
import { normalizePlatform } from '../reference/platform.js'
import { tagOf } from '../reference/reference.js'
import { RegistryError } from '../registry/transport/errors.js'
import type { PlatformImage, RegistryClient } from '../registry/remote.js'
import {
  baseOs,
  diffImages,
  type Explanation,
  type ImageContents,
  type ImageFacts,
  type Unexplained
} from './diff.js'
import { DATABASES, type PackageList } from './databases.js'
import { OS_RELEASE, readImageFiles } from './layers.js'
import { parseOsRelease } from './packages.js'
import { readSbom } from './sbom.js'
import type { ImageReference } from '../reference/reference.js'

/** What changed inside a drifted image, or why only the digests are known. */
export type ExplainResult = Explanation | Unexplained

/** An image that moved: a drift (baseline → now), or a stale pin (the pin → where its tag is now). */
export interface ImageMove {
  parsed: ImageReference
  previous: { digest: string }
  current: { digest: string }
  /** With tracked platforms: those whose digest changed. */
  changedPlatforms?: string[]
}

/**
 * Reads the old and new images of a moved reference and explains the change, for the
 * first changed tracked platform, else the first tracked one, else the default platform
 * (or the image's only one).
 */
export async function explainDrift(
  finding: ImageMove,
  client: RegistryClient,
  platforms: string[],
  /** Compressed layer bytes each image's package database may cost; 0 reads SBOMs only. */
  budgetBytes: number
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
    const old = { ...image, digest: finding.previous.digest }
    const before = await client.image(old, after.platform)
    const now = { ...image, digest: finding.current.digest }
    const [beforeContents, afterContents] = await Promise.all([
      contents(client, old, before, budgetBytes),
      contents(client, now, after, budgetBytes)
    ])
    const explanation = diffImages(
      facts(before, beforeContents),
      facts(after, afterContents),
      after.platform
    )
    const oldRelease = await oldReleaseTag(client, image, explanation)
    return oldRelease ? { ...explanation, oldRelease } : explanation
  } catch (error) {
    if (!(error instanceof RegistryError)) throw error
    return {
      platform: after.platform,
      unavailable: `the old image ${finding.previous.digest} can no longer be fetched from ${image.registry} (${error.message}); only the digests are known`
    }
  }
}

/**
 * When the OS release changed (`Debian bullseye → bookworm`), a tag that stays on the old
 * one: the tag with the old codename substituted or appended (`3.12-slim-bullseye`), where
 * the registry has it. One HEAD per candidate, only on such a drift.
 */
async function oldReleaseTag(
  client: RegistryClient,
  image: ImageReference,
  explanation: Explanation
): Promise<Explanation['oldRelease']> {
  const codename = (os: string | null) => /^(?:Debian|Ubuntu) ([a-z]+)$/.exec(os ?? '')?.[1]
  const before = codename(explanation.os.before)
  const after = codename(explanation.os.after)
  if (!before || !after || before === after || !image.tag) return undefined
  const candidates = new Set([
    ...(image.tag.includes(after) ? [image.tag.replace(after, before)] : []),
    `${image.tag}-${before}`
  ])
  for (const tag of candidates) {
    try {
      const digest = await client.digest({ ...image, tag, digest: undefined })
      return { tag, digest, release: explanation.os.before ?? before }
    } catch (error) {
      if (!(error instanceof RegistryError)) throw error
    }
  }
  return undefined
}

function facts(image: PlatformImage, contents: ImageContents | undefined): ImageFacts {
  const { layers } = image.manifest
  return {
    digest: image.digest,
    config: image.config,
    annotations: image.annotations,
    layers: { count: layers.length, size: layers.reduce((sum, l) => sum + l.size, 0) },
    ...(contents ? { contents } : {})
  }
}

/**
 * What an image holds, cheapest first: the SBOM its index carries, else its package
 * database and os-release from the layers, within the budget. Undefined when neither was
 * tried (budget 0 and no SBOM); a failure to read is said, not thrown.
 */
async function contents(
  client: RegistryClient,
  reference: ImageReference,
  image: PlatformImage,
  budgetBytes: number
): Promise<ImageContents | undefined> {
  try {
    const sbom = await readSbom(client, reference, image)
    // with an SBOM, no layer is read
    const fromLayers =
      sbom === null && budgetBytes > 0
        ? await readImageFiles(
            client,
            reference,
            image.manifest.layers,
            budgetBytes,
            baseOs(image.config) === null
          )
        : null
    if (sbom === null && fromLayers === null) return undefined
    const files = fromLayers?.files ?? new Map<string, string>()
    const release = OS_RELEASE.map(path => files.get(path)).find(text => text !== undefined)
    return {
      packages: sbom ? { from: 'sbom', packages: sbom } : installed(files),
      osRelease: release === undefined ? null : parseOsRelease(release),
      ...(fromLayers?.incomplete
        ? { incomplete: fromLayers.incomplete }
        : fromLayers?.rpm && installed(files) === null
          ? {
              incomplete:
                'the image keeps its packages in an RPM database, which is not read (not supported)'
            }
          : {})
    }
  } catch (error) {
    if (!(error instanceof RegistryError)) throw error
    return {
      packages: null,
      osRelease: null,
      incomplete: `the layers could not be read (${error.message})`
    }
  }
}

/** The package list the files hold: the first database that has any. */
function installed(files: Map<string, string>): PackageList | null {
  for (const database of DATABASES) {
    const packages = database.read(files)
    if (packages) return { from: database.name, packages }
  }
  return null
}
