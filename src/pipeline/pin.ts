/**
 * `pin`: every reference the files name rewritten to `tag@digest` where it is written, to the
 * digest the baseline recorded (the known-good one) or to where its tag points now. The
 * files are read and written here; where each digest goes is the pure `pin/` core's.
 */
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { BaselineStore } from '../baseline/store.js'
import { unifiedDiff } from '../pin/diff.js'
import { applyPins, pinPlaces } from '../pin/place.js'
import { formatReference, type ImageReference } from '../reference/reference.js'
import { resolutionKey } from '../resolve/resolve.js'
import { FileText, isPinSite, type PinSite } from '../sources/read/pin-site.js'
import type { FoundReference } from '../sources/read/source.js'
import type { Discovered } from '../sources/discover.js'
import { readInside, run, type ResolveRequest, type ScanRequest } from './run.js'

export type PinTo = 'baseline' | 'current'

export type PinRequest = Omit<ScanRequest, 'until'> & {
  /** Write the files; else only say what would change. */
  write: boolean
} & (
    | { to: 'baseline'; store: BaselineStore }
    | ({ to: 'current' } & Pick<ResolveRequest, 'registry'>)
  )

/** One reference that names an image, and what became of it. */
export type PinResult =
  | { reference: FoundReference; status: 'pinned'; digest: string }
  | { reference: FoundReference; status: 'already-pinned' }
  | { reference: FoundReference; status: 'unpinnable'; why: string }

export interface PinOutcome {
  discovered: Discovered
  results: PinResult[]
  /** Each file that changes: its unified diff. */
  diffs: { file: string; diff: string }[]
}

export async function pinFiles(request: PinRequest): Promise<PinOutcome> {
  const digestOf = await digests(request)
  const { discovered } = digestOf
  const results: PinResult[] = []
  const diffs: PinOutcome['diffs'] = []
  const byFile = new Map<string, (FoundReference & { image: ImageReference })[]>()
  for (const reference of discovered.references) {
    if (!reference.image) continue
    const list = byFile.get(reference.file) ?? []
    list.push({ ...reference, image: reference.image })
    byFile.set(reference.file, list)
  }
  for (const [file, references] of byFile) {
    const text = readInside(request.cwd, file)
    const places = text === null ? null : pinPlaces(new FileText(file, text), references)
    const pins: { site: PinSite; digest: string }[] = []
    for (const reference of references) {
      if (reference.image.digest) {
        results.push({ reference, status: 'already-pinned' })
        continue
      }
      const place = places?.get(reference) ?? { unpinnable: 'the file could not be read again' }
      const digest = digestOf.get(reference.image)
      if (!isPinSite(place))
        results.push({ reference, status: 'unpinnable', why: place.unpinnable })
      else if ('why' in digest) results.push({ reference, status: 'unpinnable', why: digest.why })
      else {
        pins.push({ site: place, digest: digest.digest })
        results.push({ reference, status: 'pinned', digest: digest.digest })
      }
    }
    if (text === null || pins.length === 0) continue
    diffs.push({ file, diff: unifiedDiff(file, text, pins) })
    if (request.write) writeFileSync(resolve(request.cwd, file), applyPins(text, pins))
  }
  return { discovered, results, diffs }
}

/** The scan, and the digest each image is pinned to, or why it has none. */
async function digests(request: PinRequest): Promise<
  { discovered: Discovered } & {
    get: (image: ImageReference) => { digest: string } | { why: string }
  }
> {
  if (request.to === 'current') {
    const { discovered, resolutions } = await run({ ...request, until: 'resolve' })
    return {
      discovered,
      get: image => {
        const resolved = resolutions.get(resolutionKey(image))
        if (!resolved) return { why: 'it was not resolved' }
        return 'failure' in resolved
          ? { why: resolved.failure.message }
          : { digest: resolved.digest }
      }
    }
  }
  const [{ discovered }, restored] = await Promise.all([
    run({ ...request, until: 'scan' }),
    request.store.restore()
  ])
  const images = restored.state === 'found' ? restored.baseline.images : {}
  return {
    discovered,
    get: image => {
      const entry = images[formatReference(image)]
      if (entry) return { digest: entry.digest }
      return {
        why:
          restored.state === 'found'
            ? 'it is not in the baseline: --to current pins it as it is now'
            : 'there is no baseline to pin to: --to current pins each image as it is now'
      }
    }
  }
}
