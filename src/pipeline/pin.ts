/**
 * Pinning files: every reference rewritten to `tag@digest` where it is written, to the digest
 * the baseline recorded (the known-good one) or to where its tag points now. The files are
 * read and written here; where each digest goes is the pure `pin/` core's.
 */
import { closeSync, openSync, readSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Baseline } from '../baseline/document.js'
import { unifiedDiff } from '../pin/diff.js'
import { applyPins, byFile, pinPlaces } from '../pin/place.js'
import { formatReference, type ImageReference } from '../reference/reference.js'
import { resolutionKey, type Resolution } from '../resolve/resolve.js'
import { FileText, isPinSite, type PinSite } from '../sources/read/pin-site.js'
import type { FoundReference } from '../sources/read/source.js'
import { MAX_MANIFEST_BYTES, readRegularFile } from '../sources/read/read-file.js'

export type PinTo = 'baseline' | 'current'

/** The digest an image is pinned to, or why it has none. */
export type DigestOf = (image: ImageReference) => { digest: string } | { why: string }

/** One reference that names an image, and what became of it. */
export type PinResult =
  | { reference: FoundReference; status: 'pinned'; digest: string }
  | { reference: FoundReference; status: 'already-pinned' }
  | { reference: FoundReference; status: 'unpinnable'; why: string }

export interface PinOutcome {
  results: PinResult[]
  /** Each file that changes, with its unified diff. */
  changed: { file: string; diff: string }[]
}

/** The references pinned in their files (written when `write`), each file read and written once. */
export function pinReferences(
  cwd: string,
  references: readonly FoundReference[],
  digestOf: DigestOf,
  write: boolean
): PinOutcome {
  const results: PinResult[] = []
  const changed: PinOutcome['changed'] = []
  for (const [file, found] of byFile(references.filter(r => r.image))) {
    const text = readScanned(cwd, file)
    const places = text === null ? null : pinPlaces(new FileText(file, text), found)
    const pins: { site: PinSite; digest: string }[] = []
    for (const reference of found) {
      const image = reference.image
      if (!image) continue
      if (image.digest) {
        results.push({ reference, status: 'already-pinned' })
        continue
      }
      const place = places?.get(reference) ?? { unpinnable: 'the file could not be read again' }
      const digest = digestOf(image)
      if (!isPinSite(place))
        results.push({ reference, status: 'unpinnable', why: place.unpinnable })
      else if ('why' in digest) results.push({ reference, status: 'unpinnable', why: digest.why })
      else if (
        // an edit that changes nothing (the value already carries this digest) is no pin
        text?.slice(place.start, place.end) ===
        place.before + digest.digest + place.after
      )
        results.push({ reference, status: 'already-pinned' })
      else {
        pins.push({ site: place, digest: digest.digest })
        results.push({ reference, status: 'pinned', digest: digest.digest })
      }
    }
    if (text === null || pins.length === 0) continue
    changed.push({ file, diff: unifiedDiff(file, text, pins) })
    if (write) writeKeepingMark(resolve(cwd, file), applyPins(text, pins))
  }
  return { results, changed }
}

/**
 * A file the scan read, read again to be rewritten: where the scan found it (a path the user
 * named may be `../app`), up to the largest file any source reads.
 */
function readScanned(cwd: string, file: string): string | null {
  const read = readRegularFile(resolve(cwd, file), MAX_MANIFEST_BYTES)
  return 'text' in read ? read.text : null
}

/** A file's new text, after the byte-order mark it starts with, if it does (the read leaves it out). */
function writeKeepingMark(path: string, text: string): void {
  const start = Buffer.alloc(3)
  const fd = openSync(path, 'r')
  try {
    readSync(fd, start, 0, 3, 0)
  } finally {
    closeSync(fd)
  }
  writeFileSync(path, (start.equals(BYTE_ORDER_MARK) ? '\ufeff' : '') + text)
}

const BYTE_ORDER_MARK = Buffer.from([0xef, 0xbb, 0xbf])

/** Each image's digest as the baseline recorded it: the known-good one. */
export function baselineDigests(baseline: Baseline | null): DigestOf {
  return image => {
    const entry = baseline?.images[formatReference(image)]
    if (entry) return { digest: entry.digest }
    return {
      why: baseline
        ? 'it is not in the baseline: pinning to the current digests pins it as it is now'
        : 'there is no baseline to pin to: pinning to the current digests pins each image as it is now'
    }
  }
}

/** Each image's digest as its registry gave it in this run. */
export function currentDigests(resolutions: ReadonlyMap<string, Resolution>): DigestOf {
  return image => {
    const resolved = resolutions.get(resolutionKey(image))
    if (!resolved) return { why: 'its registry was not asked' }
    return 'failure' in resolved ? { why: resolved.failure.message } : { digest: resolved.digest }
  }
}
