/**
 * The baseline document: its JSON form, strict reading (an unusable baseline is an error, never a
 * first run) and stable writing.
 */
import { formatReference, InvalidReferenceError, parseReference } from '../reference/reference.js'
import { isDigest } from '../reference/digest.js'
import { messageOf } from '../errors.js'
import { isRecord } from '../json.js'

/** Where a reference pointed at the last successful build. */
export interface BaselineEntry {
  digest: string
  /** Tracked platform → manifest digest. */
  platforms?: Record<string, string>
  /**
   * The files that name the reference (`Dockerfile`, `compose.yaml`; earlier versions added
   * `:line`): an entry leaves only when a step that scanned them all no longer finds it.
   * Absent in baselines of older versions.
   */
  seenAt?: string[]
  /** When and by which run this digest was recorded. */
  recordedAt: string
  run?: string
  commit?: string
}

/**
 * The baseline: normalized reference → entry. Nothing in it moves on a run that changed
 * nothing (no time or run of the whole), so a committed lockfile changes only with a digest.
 */
export interface Baseline {
  schema: typeof BASELINE_SCHEMA
  version: typeof BASELINE_SCHEMA_VERSION
  images: Record<string, BaselineEntry>
}

export const BASELINE_SCHEMA = 'https://github.com/base-image-drift/base-image-drift/baseline'
/** The version of the baseline document this build reads and writes. */
export const BASELINE_SCHEMA_VERSION = 1

/** A baseline that exists but cannot be used; the message says exactly what is wrong. */
export class BaselineError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BaselineError'
  }
}

/** Reads and validates a baseline document; `source` names it in errors. */
export function parseBaseline(text: string, source: string): Baseline {
  const fail = (why: string): never => {
    throw new BaselineError(`${source} ${why}`)
  }
  const conflict = /^(?:<{7}|={7}|>{7})(?: |$)/m.exec(text)
  if (conflict) {
    const line = text.slice(0, conflict.index).split('\n').length
    fail(`has a git merge-conflict marker on line ${line}: resolve the conflict`)
  }
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch (error) {
    // where, never what: the parser's message quotes the text
    const at = /position (\d+)/.exec(messageOf(error))
    const line = at ? text.slice(0, Number(at[1])).split('\n').length : null
    fail(`is not valid JSON${line !== null ? ` (line ${line})` : ''}`)
  }
  const doc = isRecord(document) ? document : fail('is not a base-image-drift baseline')
  if (doc.schema !== BASELINE_SCHEMA)
    fail('is not a base-image-drift baseline (no matching "schema")')
  const version =
    typeof doc.version === 'number' && Number.isInteger(doc.version)
      ? doc.version
      : fail('has no integer "version"')
  if (version > BASELINE_SCHEMA_VERSION) {
    fail(
      `was written by a newer base-image-drift (baseline version ${version}; this one reads version ${BASELINE_SCHEMA_VERSION}): upgrade base-image-drift`
    )
  }
  if (version < 1) fail(`has unknown version ${version}`)
  const stored = isRecord(doc.images) ? doc.images : fail('has no "images" object')
  const images: Record<string, BaselineEntry> = {}
  for (const [key, value] of Object.entries(stored)) {
    const normalized = normalizedOrNull(key)
    if (normalized === null) fail(`has an invalid image "${key}"`)
    if (normalized !== key)
      fail(`has image "${key}", which is not in normalized form (${normalized})`)
    const entry = isRecord(value) ? value : fail(`has no valid digest for "${key}"`)
    const digest = isDigest(entry.digest) ? entry.digest : fail(`has no valid digest for "${key}"`)
    const platforms = entry.platforms === undefined ? undefined : platformDigests(entry.platforms)
    if (platforms === null) fail(`has invalid platform digests for "${key}"`)
    const seenAt = entry.seenAt === undefined ? undefined : strings(entry.seenAt)
    if (seenAt === null) fail(`has an invalid "seenAt" for "${key}"`)
    images[key] = {
      digest,
      ...(seenAt ? { seenAt } : {}),
      ...(platforms ? { platforms } : {}),
      recordedAt: typeof entry.recordedAt === 'string' ? entry.recordedAt : '',
      ...(typeof entry.run === 'string' ? { run: entry.run } : {}),
      ...(typeof entry.commit === 'string' ? { commit: entry.commit } : {})
    }
  }
  return {
    schema: BASELINE_SCHEMA,
    version: BASELINE_SCHEMA_VERSION,
    images
  }
}

/** Platform → manifest digest; null when it is anything else. */
function platformDigests(value: unknown): Record<string, string> | null {
  if (!isRecord(value)) return null
  const digests: Record<string, string> = {}
  for (const [platform, digest] of Object.entries(value)) {
    if (!isDigest(digest)) return null
    digests[platform] = digest
  }
  return digests
}

function strings(value: unknown): string[] | null {
  return Array.isArray(value) && value.every(item => typeof item === 'string') ? value : null
}

function normalizedOrNull(key: string): string | null {
  try {
    return formatReference(parseReference(key))
  } catch (error) {
    if (error instanceof InvalidReferenceError) return null
    throw error
  }
}

/** Stable text: sorted keys, two-space indent, final newline — diff-friendly in git. */
export function serializeBaseline(baseline: Baseline): string {
  const images = Object.fromEntries(
    Object.keys(baseline.images)
      .sort()
      .map(key => [key, baseline.images[key]])
  )
  return JSON.stringify({ ...baseline, images }, null, 2) + '\n'
}
