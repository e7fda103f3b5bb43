/**
 * How one step's reading joins the repository's baseline. Pure. Every workflow and step of a
 * repository records into one baseline, so a step changes only what it read: the images it
 * found, and the entries of files it scanned that no longer name them. Everything else —
 * other services, other workflows, entries saved meanwhile by concurrent runs — is kept.
 */
import {
  BASELINE_SCHEMA,
  BASELINE_SCHEMA_VERSION,
  type Baseline,
  type BaselineEntry
} from './document.js'

/** What a step recorded for one image it read. */
export interface ReadEntry {
  entry: BaselineEntry
  /** Drift this run accepted: it replaces whatever is stored. */
  accepted: boolean
  /** The digest the step compared with; null for an image the baseline lacked. */
  comparedWith: string | null
}

/** One step's reading of its files: what it recorded, and which files it read whole. */
export interface Reading {
  images: Record<string, ReadEntry>
  /** Files the step scanned: an entry seen only in them, and not found again, left them. */
  scanned: string[]
  /** False when a file or line could not be read: then no entry leaves the baseline. */
  complete: boolean
}

/** `Dockerfile:3` (as earlier versions wrote it) or `Dockerfile` → `Dockerfile`. */
export function seenFile(seenAt: string): string {
  return seenAt.replace(/:\d+$/, '')
}

/**
 * `reading` on top of `base`. An image the step read takes its new entry where it accepted
 * drift, the base has none, or the base still holds what the step compared with; else the
 * base's, recorded by another run meanwhile (a newer acceptance is never undone). Its
 * `seenAt` is the files of other steps plus this step's. An image the step did not read stays,
 * unless every file it was seen in was scanned by this step, completely, and none names it.
 */
export function mergeReading(base: Baseline | null, reading: Reading): Baseline {
  const scanned = new Set(reading.scanned)
  const images: Record<string, BaselineEntry> = {}
  for (const [key, entry] of Object.entries(base?.images ?? {})) {
    if (reading.images[key]) continue
    if (!reading.complete || entry.seenAt === undefined) {
      images[key] = entry
      continue
    }
    const elsewhere = filesOf(entry.seenAt).filter(file => !scanned.has(file))
    if (elsewhere.length > 0) images[key] = { ...entry, seenAt: elsewhere }
  }
  for (const [key, { entry, accepted, comparedWith }] of Object.entries(reading.images)) {
    const stored = base?.images[key]
    const chosen = !stored || accepted || stored.digest === comparedWith ? entry : stored
    const others = filesOf(stored?.seenAt ?? []).filter(file => !scanned.has(file))
    images[key] = { ...chosen, seenAt: filesOf([...others, ...(entry.seenAt ?? [])]) }
  }
  return { schema: BASELINE_SCHEMA, version: BASELINE_SCHEMA_VERSION, images }
}

function filesOf(seenAt: readonly string[]): string[] {
  return [...new Set(seenAt.map(seenFile))].sort()
}
