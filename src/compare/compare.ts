/**
 * Compare: each reference's current digest against the baseline, as findings, and the next baseline. Pure.
 */
import {
  BASELINE_SCHEMA,
  BASELINE_SCHEMA_VERSION,
  type Baseline,
  type BaselineChanges,
  type BaselineEntry
} from '../baseline/document.js'
import { formatReference, type ImageReference } from '../reference/reference.js'
import type { RegistryErrorKind } from '../registry/errors.js'
import { resolutionKey, type PlatformChange, type Resolution } from '../resolve/resolve.js'
import type { PackageUse } from '../sources/dockerfile-uses.js'
import { UNREADABLE_KIND, type FoundReference, type ScanWarning } from '../sources/source.js'

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

/** Which drift a run accepts: all of it, none, or the images listed (normalized references). */
export type Acceptance = boolean | readonly string[]

/** Whether a drift of `image` is accepted. */
export function accepts(accept: Acceptance, image: string): boolean {
  return typeof accept === 'boolean' ? accept : accept.includes(image)
}

export interface CompareOptions {
  /** Tracked platforms (normalized); empty, the index digest alone decides. */
  platforms: string[]
  /** Record drift as the new baseline (input `accept`). */
  accept: Acceptance
  /** Files, or parts of them, that could not be read: error findings; while there are any, no entry is dropped. */
  unreadable?: ScanWarning[]
  /** Every platform's digest in the old and new index of images that moved, keyed as the baseline is. */
  platformChanges?: ReadonlyMap<string, PlatformChange>
  now: string
  run?: string
  commit?: string
}

/**
 * Findings per reference and the next baseline. Pure. The next baseline never forgets a
 * known-good digest: it keeps the previous entry of references that failed, the previous
 * digest of drift that was not accepted, and, when a file or line could not be read, every
 * entry; an entry is dropped only when every file was read and none names it.
 * `accepting` is the same with every drift accepted: what a committed lockfile would need
 * to say to accept this run's digests. `changes` names the entries recorded afresh.
 */
export function compare(
  references: FoundReference[],
  resolutions: ReadonlyMap<string, Resolution>,
  baseline: Baseline | null,
  options: CompareOptions
): { findings: Finding[]; next: Baseline; accepting: Baseline; changes: BaselineChanges } {
  const images: Record<string, BaselineEntry> = {}
  const accepting: Record<string, BaselineEntry> = {}
  const added = new Set<string>()
  const accepted = new Set<string>()
  const seenAt = new Map<string, string[]>()
  for (const reference of references) {
    if (!reference.image) continue
    const key = formatReference(reference.image)
    seenAt.set(key, [...(seenAt.get(key) ?? []), `${reference.file}:${reference.line}`])
  }
  const findings: Finding[] = references.map(reference => {
    const finding = judge(reference, resolutions, baseline, options)
    if (finding.image === null) return finding
    const where = { seenAt: seenAt.get(finding.image) ?? [] }
    if (finding.status === 'error') {
      if (finding.previous)
        images[finding.image] = accepting[finding.image] = { ...finding.previous, ...where }
      return finding
    }
    const recorded: BaselineEntry = {
      digest: finding.current.digest,
      ...where,
      recordedAt: options.now,
      ...(options.run ? { run: options.run } : {}),
      ...(options.commit ? { commit: options.commit } : {})
    }
    accepting[finding.image] = recorded
    if (finding.status === 'drifted' && !accepts(options.accept, finding.image)) {
      images[finding.image] = { ...finding.previous, ...where }
    } else {
      images[finding.image] = recorded
      if (finding.status === 'drifted') accepted.add(finding.image)
      if (!('previous' in finding) || !finding.previous) added.add(finding.image)
    }
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
    for (const [key, entry] of Object.entries(baseline?.images ?? {})) {
      images[key] ??= entry
      accepting[key] ??= entry
    }
  const document = (entries: Record<string, BaselineEntry>): Baseline => ({
    schema: BASELINE_SCHEMA,
    version: BASELINE_SCHEMA_VERSION,
    updatedAt: options.now,
    ...(options.run ? { run: options.run } : {}),
    ...(options.commit ? { commit: options.commit } : {}),
    images: entries
  })
  return {
    findings,
    next: document(images),
    accepting: document(accepting),
    changes: { added: [...added], accepted: [...accepted] }
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
      error: resolution
        ? resolution.failure
        : { kind: 'bad-response', message: `${image}: not resolved` }
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
    // a literal `FROM --platform=…` is what that line builds; otherwise the run's platforms
    const tracked = reference.trackedPlatform ? [reference.trackedPlatform] : options.platforms
    const changed = tracked.filter(p => change.before[p] !== change.after[p])
    if (changed.length === 0) {
      const others = [...new Set([...Object.keys(change.before), ...Object.keys(change.after)])]
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
          others.length === 0
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
