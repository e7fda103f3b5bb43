/**
 * Compare: each reference's current digest against the baseline, as findings, and the next baseline. Pure.
 */
import type { Baseline, BaselineEntry } from '../baseline/document.js'
import { mergeReading, type Reading } from '../baseline/merge.js'
import { accepts, matchAcceptance, type Acceptance } from './accept.js'
import { formatReference, type ImageReference } from '../reference/reference.js'
import type { RegistryErrorKind } from '../registry/transport/errors.js'
import { resolutionKey, type PlatformChange, type Resolution } from '../resolve/resolve.js'
import type { PackageUse } from '../sources/read/source.js'
import type { PinPlace } from '../sources/read/pin-site.js'
import { UNREADABLE_KIND, type FoundReference, type ScanProblem } from '../sources/read/source.js'

/** Where a reference (its tag) points now. */
export interface Current {
  digest: string
}

/** Why a reference was not checked: it could not be determined from its file, or resolved. */
export interface FindingError {
  kind: 'scan' | RegistryErrorKind
  /** The registry it is about, for resolve failures. */
  registry?: string
  message: string
}

interface Found {
  reference: FoundReference
  /** The normalized reference, as the baseline keys it. */
  image: string
  /** The same, parsed. */
  parsed: ImageReference
  /** Where its digest is written in its file, when the run read the file for the remedy. */
  pin?: PinPlace
}

/** What happened to one reference since the baseline: each status carries exactly its facts. */
export type Finding =
  | (Found & { status: 'unchanged'; previous: BaselineEntry; current: Current })
  | (Found & {
      status: 'drifted'
      previous: BaselineEntry
      current: Current
      /** With tracked platforms: those whose digest changed. */
      changedPlatforms?: string[]
      /** Lines of this file that need a package the new image no longer has. */
      packageUses?: PackageUse[]
    })
  | (Found & {
      status: 'index-churn'
      previous: BaselineEntry
      current: Current
      /** Why it is not drift: only attestations changed, or which other platforms were rebuilt. */
      reason: string
    })
  | (Found & { status: 'new'; current: Current })
  | (Found & {
      status: 'pinned'
      previous?: BaselineEntry
      /** The pinned digest: what is built. */
      current: Current
      /** The tag has moved away from the pinned digest. */
      stale: boolean
      /** Where the tag points now; null for a digest-only reference. */
      tagDigest: string | null
    })
  | {
      status: 'error'
      reference: FoundReference
      /** Null when the reference could not be determined from its file. */
      image: string | null
      previous?: BaselineEntry
      error: FindingError
    }

export type Status = Finding['status']
export type DriftedFinding = Extract<Finding, { status: 'drifted' }>

export interface CompareOptions {
  /** Tracked platforms (normalized); empty, the index digest alone decides. */
  platforms: string[]
  /** Drift to record as the new baseline (input `accept`): entries as written, matched here to what drifted. */
  accept: Acceptance
  /**
   * The files this step scanned, beyond those that name a reference: entries seen only in
   * scanned files and not found again leave the baseline.
   */
  scanned?: string[]
  /** Files, or parts of them, that could not be read: error findings; while there are any, no entry is dropped. */
  unreadable?: ScanProblem[]
  /** Every platform's digest in the old and new index of images that moved, keyed as the baseline is. */
  platformChanges?: ReadonlyMap<string, PlatformChange>
  now: string
  run?: string
  commit?: string
}

/**
 * Findings per reference, this step's reading of its files, and the next baseline: the
 * reading merged into the stored one, so an image another step or workflow records is kept.
 * Pure. The next baseline never forgets a known-good digest: it keeps the previous entry of
 * references that failed, the previous digest of drift that was not accepted, and, when a
 * file or line could not be read, every entry. An entry keeps its recording time until its
 * digest changes, so a run that changed nothing writes the same document. `accepting` is the
 * same with every drift accepted: what a committed lockfile would need to say to accept
 * this run's digests.
 */
export function compare(
  references: FoundReference[],
  resolutions: ReadonlyMap<string, Resolution>,
  baseline: Baseline | null,
  options: CompareOptions
): {
  findings: Finding[]
  next: Baseline
  accepting: Baseline
  reading: Reading
  /** The drift accepted: the entries of `accept` matched to drifted images. */
  acceptance: Acceptance
  /** The entries of `accept` that match no drifted image (or several), each with what did drift. */
  refused: string[]
} {
  const scanned = [...new Set([...(options.scanned ?? []), ...references.map(r => r.file)])]
  const reading: Reading = { images: {}, scanned, complete: true }
  const accepting: Reading = { images: {}, scanned, complete: true }
  const seenAt = new Map<string, string[]>()
  const trackedFor = new Map<string, Set<string>>()
  for (const reference of references) {
    if (!reference.image) continue
    const key = formatReference(reference.image)
    seenAt.set(key, [...(seenAt.get(key) ?? []), reference.file])
    const tracked = trackedFor.get(key) ?? new Set()
    for (const p of trackedPlatforms(reference, options.platforms)) tracked.add(p)
    trackedFor.set(key, tracked)
  }
  const judged = references.map(reference => judge(reference, resolutions, baseline, options))
  const { acceptance, refused } = matchAcceptance(
    options.accept,
    judged.flatMap(f => (f.status === 'drifted' ? [f.image] : []))
  )
  const findings: Finding[] = judged.map(finding => {
    if (finding.image === null) return finding
    const where = { seenAt: [...new Set(seenAt.get(finding.image))].sort() }
    const previous = 'previous' in finding ? finding.previous : undefined
    const comparedWith = previous?.digest ?? null
    if (finding.status === 'error') {
      if (previous)
        reading.images[finding.image] = accepting.images[finding.image] = {
          entry: { ...previous, ...where },
          accepted: false,
          comparedWith
        }
      return finding
    }
    // the tracked platforms' digests, where the index was read: the next drift compares them
    // without reading this index again
    const platforms = recordedPlatforms(
      options.platformChanges?.get(finding.image),
      trackedFor.get(finding.image)
    )
    const recorded: BaselineEntry =
      previous?.digest === finding.current.digest
        ? { ...previous, ...where }
        : {
            digest: finding.current.digest,
            ...(platforms ? { platforms } : {}),
            ...where,
            recordedAt: options.now,
            ...(options.run ? { run: options.run } : {}),
            ...(options.commit ? { commit: options.commit } : {})
          }
    const drifted = finding.status === 'drifted'
    accepting.images[finding.image] = { entry: recorded, accepted: drifted, comparedWith }
    reading.images[finding.image] =
      previous && drifted && !accepts(acceptance, finding.image)
        ? { entry: { ...previous, ...where }, accepted: false, comparedWith }
        : { entry: recorded, accepted: drifted, comparedWith }
    return finding
  })
  for (const problem of options.unreadable ?? []) {
    findings.push({
      reference: {
        file: problem.file,
        line: problem.line ?? 1,
        column: 1,
        kind: UNREADABLE_KIND,
        source: problem.file,
        error: problem.message
      },
      image: null,
      status: 'error',
      error: { kind: 'scan', message: `${problem.file}: ${problem.message}` }
    })
  }
  // An image whose file (or line) could not be read may have moved there from a file that was
  // read: while anything failed to scan, no entry is dropped.
  if (findings.some(f => f.status === 'error' && f.error.kind === 'scan'))
    reading.complete = accepting.complete = false
  return {
    findings,
    next: mergeReading(baseline, reading),
    accepting: mergeReading(baseline, accepting),
    reading,
    acceptance,
    refused
  }
}

function judge(
  reference: FoundReference,
  resolutions: ReadonlyMap<string, Resolution>,
  baseline: Baseline | null,
  options: CompareOptions
): Finding {
  if (!reference.image) {
    return {
      reference,
      image: null,
      status: 'error',
      error: { kind: 'scan', message: reference.error ?? 'not scanned' }
    }
  }
  const parsed = reference.image
  const image = formatReference(parsed)
  const previous = baseline?.images[image]
  const resolution = resolutions.get(resolutionKey(reference.image))
  if (!resolution || 'failure' in resolution) {
    return {
      reference,
      image,
      status: 'error',
      ...(previous ? { previous } : {}),
      error: !resolution
        ? { kind: 'bad-response', message: `${image}: not resolved` }
        : resolution.failure.kind === 'not-found' && previous
          ? // the baseline had it: it was removed since, which is worth saying
            {
              ...resolution.failure,
              message: `${resolution.failure.message}; it existed when the baseline was recorded${previous.recordedAt ? ` (${previous.recordedAt.slice(0, 10)})` : ''}`
            }
          : resolution.failure
    }
  }
  const current: Current = { digest: resolution.digest }
  if (reference.image.digest) {
    // what is built is the pinned digest; the tag is resolved only to tell whether the pin is stale
    return {
      reference,
      image,
      parsed,
      status: 'pinned',
      ...(previous ? { previous } : {}),
      current: { digest: reference.image.digest },
      stale: reference.image.tag !== undefined && resolution.digest !== reference.image.digest,
      tagDigest: reference.image.tag !== undefined ? resolution.digest : null
    }
  }
  if (!previous) return { reference, image, parsed, status: 'new', current }
  if (previous.digest === resolution.digest)
    return { reference, image, parsed, status: 'unchanged', previous, current }
  const change = options.platformChanges?.get(image)
  if (change) {
    const changed = trackedPlatforms(reference, options.platforms).filter(
      p => change.before[p] !== change.after[p]
    )
    if (changed.length === 0) {
      const others = change.beforeTrackedOnly
        ? null
        : [...new Set([...Object.keys(change.before), ...Object.keys(change.after)])]
            .filter(p => change.before[p] !== change.after[p])
            .sort()
      return {
        reference,
        image,
        parsed,
        status: 'index-churn',
        previous,
        current,
        reason:
          others === null
            ? 'only other platforms, attestations or index annotations changed'
            : others.length === 0
              ? 'only attestations or index annotations changed'
              : `only other platforms were rebuilt: ${others.join(', ')}`
      }
    }
    return {
      reference,
      image,
      parsed,
      status: 'drifted',
      previous,
      current,
      changedPlatforms: changed
    }
  }
  return { reference, image, parsed, status: 'drifted', previous, current }
}

/** What a reference is built for: a literal `FROM --platform=…` or its build's platforms, else the run's. */
export function trackedPlatforms(reference: FoundReference, platforms: string[]): string[] {
  return reference.trackedPlatforms?.length ? reference.trackedPlatforms : platforms
}

/** The new index's digests of the platforms an image is tracked for; undefined when any is unknown. */
function recordedPlatforms(
  change: PlatformChange | undefined,
  tracked: ReadonlySet<string> | undefined
): Record<string, string> | undefined {
  if (!change || !tracked || tracked.size === 0) return undefined
  const platforms: Record<string, string> = {}
  for (const platform of [...tracked].sort()) {
    const digest = change.after[platform]
    if (digest === undefined) return undefined
    platforms[platform] = digest
  }
  return platforms
}
