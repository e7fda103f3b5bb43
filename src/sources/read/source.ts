/**
 * The contract every source of image references fulfils (Dockerfiles, Compose files, …):
 * which files are its own (by name and content), how it scans one, which other files it
 * follows, and where a reference it found is pinned. Discovery, the remedy and the docs read
 * the list in `index.ts`.
 */
import {
  formatReference,
  InvalidReferenceError,
  parseReference,
  type ImageReference
} from '../../reference/reference.js'
import { parseYaml, type ParsedYaml } from './yaml.js'
import type { ScanProblem } from './text.js'
import type { FileText, PinPlace } from './pin-site.js'

// the readers' words, part of every source's contract
export { excerpt, type ScanProblem } from './text.js'

/** One image a build pulls, where it is named, and what it normalizes to. */
export interface FoundReference {
  /** Path relative to the scan's root, with `/` separators. */
  file: string
  line: number
  column: number
  /** One of the kinds its source declares (`from`, `compose`, …), or `UNREADABLE_KIND`. */
  kind: string
  /** The instruction (or Compose `image:` value) as written. */
  source: string
  /** Normalized reference; absent when `error` is set. */
  image?: ImageReference
  /** The Dockerfile stage its `FROM` starts (`AS name`), when it names one. */
  stage?: string
  /** The platform as written (`--platform=$BUILDPLATFORM`, a Compose `platform:`), when one is. */
  platform?: string
  /**
   * The platforms this reference is tracked for, normalized: its `FROM --platform`'s, or
   * those its build runs for (a Compose `platform`, Bake `platforms`, build-push-action
   * `platforms`); absent, the run's.
   */
  trackedPlatforms?: string[]
  /** How the file is built, when another file builds it: `service "web"`, `job "image" step 2 (…)`. */
  builtBy?: string
  error: string | null
}

/**
 * Another file a file makes part of what is pulled (the Dockerfile a Compose service builds,
 * the Bake file a workflow step runs, the manifests a kustomization lists), and what it passes
 * to it. A file that something follows is read only as its followers say, once per distinct
 * thing passed, and not also on its own.
 */
export interface Follow {
  /** `/`-separated: relative to the naming file's folder, or to the scanned root with `fromRoot`. */
  path: string
  fromRoot?: boolean
  /** The source that reads it. */
  source: Source
  /** How the naming file uses it, for messages: `service "web" builds …`, `… names …`. */
  verb: 'builds' | 'names'
  /** Who names it, for messages: `service "web"`. */
  by: string
  line: number
  /** What it is read with, in the shape its source defines; null: as on its own. */
  passed: unknown
}

/** A follow whose passed value has the shape its source reads. */
export function follow<Passed>(
  source: Source<Passed>,
  passed: Passed | null,
  at: Omit<Follow, 'source' | 'passed'>
): Follow {
  return { ...at, source: source, passed }
}

export interface SourceScan {
  references: FoundReference[]
  warnings: ScanProblem[]
  /**
   * Files, or parts of them, that could not be read: errors (on-error applies), and the
   * baseline keeps the entries they had.
   */
  errors: ScanProblem[]
  /** What is set only at run time and so not checked: said, never a warning or an error. */
  notices: ScanProblem[]
  /** Other files to read as this one says (the Dockerfiles it builds, …). */
  follows: Follow[]
}

/** A scan that found nothing yet. */
export function emptyScan(): SourceScan {
  return { references: [], warnings: [], errors: [], notices: [], follows: [] }
}

/** What a scan may use beyond the file's own text. */
export interface ScanContext<Passed = unknown> {
  /** The run's build args (`NAME=VALUE`); they override only globally declared ARGs. */
  buildArgs: Record<string, string>
  /** Platforms the automatic TARGET* ARGs describe; one scan per platform. */
  targetPlatforms: string[]
  /** The platform the build runs on (BUILDPLATFORM): the runner's. */
  buildPlatform: string
  /** Variables for Compose interpolation. */
  variables: Record<string, string | undefined>
  /** Helm values keys a chart renders as images, beyond the conventions read anyway. */
  helmImageKeys?: readonly string[]
  /** The job's secrets: a value carrying one is never interpolated into a reference. */
  secrets: readonly string[]
  /** What the file that follows this one passes to it; null when it is read on its own. */
  passed: Passed | null
  /** Reads a file beside the scanned one (`.env`), or below or above it within the scanned root; null when it does not exist. */
  readBeside: (name: string) => string | null
}

/** A line of the user's file that needs a package the new image no longer has. */
export interface PackageUse {
  file: string
  line: number
  column: number
  /** The removed package. */
  package: string
  /** What the line does with it. */
  does: 'installs' | 'uses' | 'copies'
}

/** A package the new image no longer has, and the shared object it provided, if it is a library. */
export interface RemovedPackage {
  name: string
  sharedObject: string | null
}

/** How one kind of reference is shown and pinned. */
export interface ReferenceKindSpec {
  name: string
  /** What the kind is, for the README's table. */
  description: string
  /** Language of the fenced block the pinned line is shown in. */
  fence: string
  /** Where the reference's digest is written in its file, or why it cannot be pinned there. */
  locate: (file: FileText, reference: FoundReference & { image: ImageReference }) => PinPlace
  /** The lines of the reference's file (its text) that need a package the new image lost. */
  packageUses?: (
    reference: FoundReference,
    text: string,
    removed: readonly RemovedPackage[]
  ) => PackageUse[]
}

export interface Source<Passed = unknown> {
  /** What the files are called in messages: `Dockerfile`, `Compose file`. */
  name: string
  kinds: readonly ReferenceKindSpec[]
  /** Default file patterns (fast-glob syntax): the names of this source's files. */
  patterns: readonly string[]
  /** Names `patterns` match that are never this source's files unless the user names them (`Dockerfile.5.md`). */
  notNamed?: readonly string[]
  /** The largest file it reads, in bytes; 1 MiB when not said. */
  maxBytes?: number
  /**
   * Whether a file's content is this source's: a file its names match is read only when
   * this says so, and a file no source's names match (one the user names) is read by the
   * source whose content it is. Without it, the names alone decide.
   */
  looksLike?: (text: string) => boolean
  /** The sources of the files this one's files name (Compose → Dockerfile): those are read after it. */
  follows: readonly Source[]
  /** Pure: the file's references, the problems found, and the files to follow. */
  scan(file: string, text: string, context: ScanContext<Passed>): SourceScan
}

/** What makes two found references the same: a line found twice (directly and via a build, or for two platforms) counts once. */
export function referenceKey(r: FoundReference): string {
  return [r.file, r.line, r.column, r.kind, r.image ? formatReference(r.image) : r.error].join('\0')
}

/** A reference's image parsed from its text, or the reason it is not one. */
export function imageOrError(text: string): Pick<FoundReference, 'image' | 'error'> {
  try {
    return { image: parseReference(text), error: null }
  } catch (error) {
    if (!(error instanceof InvalidReferenceError)) throw error
    return { error: error.message }
  }
}

/** The kind of a finding that is no reference: a file, or a line of one, that could not be read. */
export const UNREADABLE_KIND = 'file'

/**
 * A build context that is not a folder here: a URL (`https://…`, `git://…`, `ssh://…`) or a
 * Git SSH address (`git@github.com:org/repo.git`), as Compose, Bake and build-push-action take
 * them. Its Dockerfile is not in the repository, so it is not scanned.
 */
export function isRemoteContext(context: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(context) || context.startsWith('git@')
}

/** A scan of a one-document YAML file: `read` fills it, or the file's one error is all it holds. */
export function scanYaml(
  file: string,
  text: string,
  read: (parsed: ParsedYaml, result: SourceScan) => void
): SourceScan {
  const result = emptyScan()
  const parsed = parseYaml(file, text)
  if ('error' in parsed) result.errors.push(parsed.error)
  else read(parsed, result)
  return result
}
