/**
 * What changed between two images, from their configs and manifests, as data. Pure: the
 * reading is in read.ts, the words in report/.
 */
import type { ImageConfig } from '../registry/manifest.js'
import type { PackageList } from './databases.js'
import { diffPackages, type OsRelease, type PackageDiff } from './packages.js'

/** The parts of an image that explain a drift. */
export interface ImageFacts {
  digest: string
  config: ImageConfig
  /** Layer count and total compressed size, from the manifest. */
  layers: { count: number; size: number }
  annotations: Record<string, string>
  /** What is installed, where it was read (not when the explain budget is 0). */
  contents?: ImageContents
}

/** What an image holds, from its SBOM or its layers. */
export interface ImageContents {
  packages: PackageList | null
  osRelease: OsRelease | null
  /** Why the packages could not be read in full (the budget, a compression not supported). */
  incomplete?: string
}

/** The package diff, or why there is none. */
export type PackagesExplained =
  { from: PackageList['from']; diff: PackageDiff } | { unavailable: string }

export interface Change {
  name: string
  before?: string
  after?: string
}

/**
 * How much a drift matters: the OS release changed; packages were removed; a runtime or
 * package changed its major version (a runtime also its minor); or only a rebuild.
 */
export type Severity = 'os' | 'removed' | 'major' | 'rebuild'
export const SEVERITIES: readonly Severity[] = ['os', 'removed', 'major', 'rebuild']

export interface Explanation {
  platform: string
  created: { before?: string; after?: string }
  os: { before: string | null; after: string | null }
  env: Change[]
  labels: Change[]
  annotations: Change[]
  layers: { before: ImageFacts['layers']; after: ImageFacts['layers'] }
  /** Absent when packages were not looked at (explain budget 0 and no SBOM). */
  packages?: PackagesExplained
  /** The new image's `org.opencontainers.image.source`, with the old and new revisions. */
  source?: { url: string; before?: string; after?: string }
  /** A tag of the same image for the old OS release, where the registry has one. */
  oldRelease?: { tag: string; digest: string; release: string }
  severity: Severity
}

/** Why only the digests are known. */
export interface Unexplained {
  platform: string | null
  unavailable: string
}

const ALPINE = /alpine-minirootfs-(\d+\.\d+(?:\.\d+)?)/
/** A history entry that names the base is short; registry text past this is not looked at. */
const CREATED_BY_LOOKED_AT = 1024

/**
 * The suite of Debian's `debian.sh … 'bookworm' '@1712707200'` history entry, read by hand
 * in one pass (a lazy regular expression rescans the rest of the text from every match).
 */
function debianSuite(createdBy: string): string | null {
  const script = createdBy.indexOf('debian.sh')
  if (script < 0) return null
  const stamp = createdBy.indexOf("'@", script)
  if (stamp < 0 || !/^'@\d+'/.test(createdBy.slice(stamp, stamp + 24))) return null
  let end = stamp - 1
  while (end > script && /\s/.test(createdBy[end])) end--
  if (end === stamp - 1 || createdBy[end] !== "'") return null
  let start = end - 1
  while (start > script && /[a-z]/.test(createdBy[start])) start--
  return createdBy[start] === "'" && start < end - 1 ? createdBy.slice(start + 1, end) : null
}
const VERSION_VARIABLE = /_VERSION$/

/** `PYTHON_VERSION` and the like: the variables that say which runtime an image carries. */
export function isVersionVariable(name: string): boolean {
  return VERSION_VARIABLE.test(name)
}

/** The base OS release an image says it is built on, or null. */
export function baseOs(config: ImageConfig): string | null {
  for (const entry of config.history ?? []) {
    const createdBy = (entry.created_by ?? '').slice(0, CREATED_BY_LOOKED_AT)
    const debian = debianSuite(createdBy)
    if (debian) return `Debian ${debian}`
    const alpine = ALPINE.exec(createdBy)
    if (alpine) return `Alpine ${alpine[1]}`
  }
  const labels = config.config?.Labels ?? {}
  const version = labels['org.opencontainers.image.version']
  const name = labels['org.opencontainers.image.ref.name']
  if (name && version) return `${name} ${version}`
  return null
}

export function diffImages(before: ImageFacts, after: ImageFacts, platform: string): Explanation {
  const env = diffMaps(envMap(before.config), envMap(after.config))
  const labels = diffMaps(before.config.config?.Labels ?? {}, after.config.config?.Labels ?? {})
  const annotations = diffMaps(before.annotations, after.annotations)
  const os = {
    before: baseOs(before.config) ?? osName(before.contents?.osRelease),
    after: baseOs(after.config) ?? osName(after.contents?.osRelease)
  }
  const runtime = env.filter(
    c => VERSION_VARIABLE.test(c.name) && majorMinor(c.before) !== majorMinor(c.after)
  )
  const packages = packagesExplained(before.contents, after.contents)
  const diff = packages && 'diff' in packages ? packages.diff : null
  const severity: Severity =
    os.before !== os.after
      ? 'os'
      : diff && diff.removed.length > 0
        ? 'removed'
        : runtime.length > 0 || diff?.changed.some(c => c.major)
          ? 'major'
          : 'rebuild'

  return {
    platform,
    created: { before: before.config.created, after: after.config.created },
    os,
    env,
    labels,
    annotations,
    layers: { before: before.layers, after: after.layers },
    ...(packages ? { packages } : {}),
    ...sourceOf(before.config, after.config),
    severity
  }
}

const SOURCE = 'org.opencontainers.image.source'
const REVISION = 'org.opencontainers.image.revision'

function sourceOf(before: ImageConfig, after: ImageConfig): Pick<Explanation, 'source'> {
  const url = after.config?.Labels?.[SOURCE]
  if (!url) return {}
  const revision = (config: ImageConfig) => config.config?.Labels?.[REVISION]
  return { source: { url, before: revision(before), after: revision(after) } }
}

function packagesExplained(
  before: ImageContents | undefined,
  after: ImageContents | undefined
): PackagesExplained | undefined {
  if (!before || !after) return undefined
  if (before.packages && after.packages)
    return {
      from: after.packages.from,
      diff: diffPackages(before.packages.packages, after.packages.packages)
    }
  return {
    unavailable:
      before.incomplete ??
      after.incomplete ??
      'neither image has a package database or an SBOM this reads'
  }
}

/** `Debian bullseye`, `Alpine 3.20.3`, else the release's own name. */
function osName(release: OsRelease | null | undefined): string | null {
  if (!release) return null
  const id = release.id ? release.id[0].toUpperCase() + release.id.slice(1) : null
  if (id && release.versionCodename && ['debian', 'ubuntu'].includes(release.id ?? ''))
    return `${id} ${release.versionCodename}`
  if (id && release.versionId) return `${id} ${release.versionId}`
  return release.prettyName
}

function envMap(config: ImageConfig): Record<string, string> {
  const map: Record<string, string> = {}
  for (const entry of config.config?.Env ?? []) {
    const eq = entry.indexOf('=')
    map[eq < 0 ? entry : entry.slice(0, eq)] = eq < 0 ? '' : entry.slice(eq + 1)
  }
  return map
}

function diffMaps(before: Record<string, string>, after: Record<string, string>): Change[] {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()
  return names
    .filter(name => before[name] !== after[name])
    .map(name => ({
      name,
      ...(name in before ? { before: before[name] } : {}),
      ...(name in after ? { after: after[name] } : {})
    }))
}

function majorMinor(version: string | undefined): string | undefined {
  return version
    ?.match(/^v?(\d+)(?:\.(\d+))?/)
    ?.slice(1, 3)
    .join('.')
}
