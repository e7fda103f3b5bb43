/**
 * What changed between two images, from their configs and manifests, as data. Pure: the
 * reading is in read.ts, the words in report/.
 */
import type { ImageConfig } from '../registry/manifest.js'

/** The parts of an image that explain a drift. */
export interface ImageFacts {
  digest: string
  config: ImageConfig
  /** Layer count and total compressed size, from the manifest. */
  layers: { count: number; size: number }
  annotations: Record<string, string>
}

export interface Change {
  name: string
  before?: string
  after?: string
}

export type Severity = 'os' | 'runtime' | 'other'

export interface Explanation {
  platform: string
  created: { before?: string; after?: string }
  os: { before: string | null; after: string | null }
  env: Change[]
  labels: Change[]
  annotations: Change[]
  layers: { before: ImageFacts['layers']; after: ImageFacts['layers'] }
  severity: Severity
}

/** Why only the digests are known. */
export interface Unexplained {
  platform: string | null
  unavailable: string
}

const DEBIAN = /debian\.sh\b.*?'([a-z]+)'\s+'@\d+'/
const ALPINE = /alpine-minirootfs-(\d+\.\d+(?:\.\d+)?)/
const VERSION_VARIABLE = /_VERSION$/

/** `PYTHON_VERSION` and the like: the variables that say which runtime an image carries. */
export function isVersionVariable(name: string): boolean {
  return VERSION_VARIABLE.test(name)
}

/** The base OS release an image says it is built on, or null. */
export function baseOs(config: ImageConfig): string | null {
  for (const entry of config.history ?? []) {
    const createdBy = entry.created_by ?? ''
    const debian = DEBIAN.exec(createdBy)
    if (debian) return `Debian ${debian[1]}`
    const alpine = ALPINE.exec(createdBy)
    if (alpine) return `Alpine ${alpine[1]}`
  }
  const labels = config.config?.Labels ?? {}
  const version = labels['org.opencontainers.image.version']
  const name = labels['org.opencontainers.image.ref.name']
  if (name && version) return `${name} ${version}`
  return null
}

export function explain(before: ImageFacts, after: ImageFacts, platform: string): Explanation {
  const env = diffMaps(envMap(before.config), envMap(after.config))
  const labels = diffMaps(before.config.config?.Labels ?? {}, after.config.config?.Labels ?? {})
  const annotations = diffMaps(before.annotations, after.annotations)
  const os = { before: baseOs(before.config), after: baseOs(after.config) }
  const osChanged = os.before !== os.after
  const runtime = env.filter(
    c => VERSION_VARIABLE.test(c.name) && majorMinor(c.before) !== majorMinor(c.after)
  )
  const severity: Severity = osChanged ? 'os' : runtime.length > 0 ? 'runtime' : 'other'

  return {
    platform,
    created: { before: before.config.created, after: after.config.created },
    os,
    env,
    labels,
    annotations,
    layers: { before: before.layers, after: after.layers },
    severity
  }
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
