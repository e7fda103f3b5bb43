import type { Baseline, BaselineEntry } from '../baseline/document.js'
import type { Explanation, Unexplained } from '../explain/diff.js'
import { SCHEMA, VERSION } from '../baseline/document.js'
import { formatReference } from '../reference/reference.js'
import { resolutionKey, type Resolution } from '../resolve/resolve.js'
import type { FoundReference } from '../scan/types.js'

export type Status = 'unchanged' | 'drifted' | 'index-churn' | 'new' | 'pinned' | 'error'

/** What happened to one reference since the baseline. */
export interface Finding {
  reference: FoundReference
  /** The normalized reference, as the baseline keys it; null when it could not be scanned. */
  image: string | null
  status: Status
  previous?: BaselineEntry
  /** Where the reference (its tag) points now. */
  current?: { digest: string; platforms?: Record<string, string> }
  /** Pinned only: the tag has moved away from the pinned digest. */
  stale?: boolean
  /** Drifted with tracked platforms: the tracked platforms whose digest changed. */
  changedPlatforms?: string[]
  error?: string
  /** Drifted only: what changed inside the image (added after compare, by explain). */
  explanation?: Explanation | Unexplained
}

export interface CompareOptions {
  /** Tracked platforms (normalized); empty, the index digest alone decides. */
  platforms: string[]
  /** Record drift as the new baseline (input `accept`). */
  accept: boolean
  now: string
  run?: string
  commit?: string
}

/**
 * Findings per reference and the next baseline (SPEC §6). Pure. The next baseline keeps
 * the previous entry of references that failed, keeps the previous digest of drift that
 * was not accepted, and drops references no longer in the files.
 */
export function compare(
  references: FoundReference[],
  resolutions: Map<string, Resolution>,
  baseline: Baseline | null,
  options: CompareOptions
): { findings: Finding[]; next: Baseline } {
  const images: Record<string, BaselineEntry> = {}
  const findings = references.map(reference => {
    const finding = judge(reference, resolutions, baseline, options)
    if (finding.image === null) return finding
    const keep = finding.status === 'error' || (finding.status === 'drifted' && !options.accept)
    if (keep) {
      if (finding.previous) images[finding.image] = finding.previous
    } else if (finding.current) {
      images[finding.image] = {
        digest: finding.current.digest,
        ...(finding.current.platforms ? { platforms: finding.current.platforms } : {}),
        recordedAt: options.now,
        ...(options.run ? { run: options.run } : {}),
        ...(options.commit ? { commit: options.commit } : {})
      }
    }
    return finding
  })
  const next: Baseline = {
    schema: SCHEMA,
    version: VERSION,
    updatedAt: options.now,
    ...(options.run ? { run: options.run } : {}),
    ...(options.commit ? { commit: options.commit } : {}),
    images
  }
  return { findings, next }
}

function judge(
  reference: FoundReference,
  resolutions: Map<string, Resolution>,
  baseline: Baseline | null,
  options: CompareOptions
): Finding {
  if (!reference.image)
    return { reference, image: null, status: 'error', error: reference.error ?? 'not scanned' }
  const image = formatReference(reference.image)
  const previous = baseline?.images[image]
  const resolution = resolutions.get(resolutionKey(reference.image))
  const base = { reference, image, ...(previous ? { previous } : {}) }
  if (!resolution || resolution.error || !resolution.digest) {
    return { ...base, status: 'error', error: resolution?.error ?? 'not resolved' }
  }
  const tagNow = {
    digest: resolution.digest,
    ...(resolution.platforms ? { platforms: resolution.platforms } : {})
  }
  if (reference.image.digest) {
    // what is built is the pinned digest; the tag is resolved only to tell whether the pin is stale
    const pinned = { digest: reference.image.digest }
    return {
      ...base,
      status: 'pinned',
      current: pinned,
      stale: reference.image.tag !== undefined && resolution.digest !== reference.image.digest
    }
  }
  if (!previous) return { ...base, status: 'new', current: tagNow }
  if (previous.digest === resolution.digest)
    return { ...base, status: 'unchanged', current: tagNow }
  if (options.platforms.length > 0 && previous.platforms && resolution.platforms) {
    const changed = options.platforms.filter(
      p => previous.platforms![p] !== resolution.platforms![p]
    )
    if (changed.length === 0) return { ...base, status: 'index-churn', current: tagNow }
    return { ...base, status: 'drifted', current: tagNow, changedPlatforms: changed }
  }
  return { ...base, status: 'drifted', current: tagNow }
}
