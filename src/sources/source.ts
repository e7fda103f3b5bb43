/**
 * The contract every source of image references fulfils (Dockerfiles, Compose files, …):
 * which files it claims, how it scans one, which builds it follows, and how a reference it
 * found is pinned. Discovery, the remedy and the docs read the list in `index.ts`.
 */
import {
  formatReference,
  InvalidReferenceError,
  parseReference,
  type ImageReference
} from '../reference/reference.js'

/** One image a build pulls, where it is named, and what it normalizes to. */
export interface FoundReference {
  /** Path relative to the scan's root, with `/` separators. */
  file: string
  line: number
  column: number
  /** One of the kinds its source declares (`from`, `compose`, …). */
  kind: string
  /** The instruction (or Compose `image:` value) as written. */
  source: string
  /** Normalized reference; absent when `error` is set. */
  image?: ImageReference
  stage: string | null
  /** The platform flag as written (`--platform=$BUILDPLATFORM`), or null. */
  platform: string | null
  /** That flag's value, expanded and normalized: the one platform this reference is tracked for. */
  trackedPlatform?: string
  /** How the Dockerfile is built, when another file builds it: `service "web"`, `job "image" step 2 (…)`. */
  builtBy?: string
  error: string | null
}

/** A file, or a part of one, that could not be read; never silently dropped. */
export interface ScanWarning {
  file: string
  line?: number
  message: string
}

/** A Dockerfile another file builds (a Compose service, …), with the args that build passes. */
export interface FollowedBuild {
  /** The Dockerfile, relative to the directory of the file that names it, `/`-separated. */
  dockerfile: string
  buildArgs: Record<string, string>
  /** Who builds it, for messages: `service "web"`. */
  by: string
  line: number
  /** `dockerfile` is relative to the scanned root, not to the file (a workflow's build step). */
  fromRoot?: boolean
  /** Named build contexts the build passes: a `FROM` naming one is not a registry image. */
  contexts?: readonly string[]
  /** Images built by the same project (Compose services with `build:` and `image:`), normalized: never pulled. */
  localImages?: readonly string[]
}

/** Another file a file names to be read as a given source (`docker/bake-action` `files:`). */
export interface FollowedFile {
  /** Relative to the scanned root, `/`-separated. */
  path: string
  /** The `name` of the source that reads it. */
  source: string
  by: string
  line: number
  /** How a workflow step runs it: Bake's working directory (relative to the root) and targets. */
  invocation?: BakeInvocation
}

/** A `docker/bake-action` step: where Bake runs (paths resolve against it) and what it builds. */
export interface BakeInvocation {
  workdir: string
  /** Targets or groups the step names; empty: Bake's `default`. */
  targets: string[]
}

export interface SourceScan {
  references: FoundReference[]
  warnings: ScanWarning[]
  /**
   * Files, or parts of them, that could not be read: errors (on-error applies), and the
   * baseline keeps the entries they had.
   */
  errors: ScanWarning[]
  builds: FollowedBuild[]
  /** What is set only at run time and so not checked: said, never a warning or an error. */
  notices: ScanWarning[]
  /** Other files to read, whatever their names (a Bake file a workflow step names). */
  follows?: FollowedFile[]
}

/** What a scan may use beyond the file's own text. */
export interface ScanContext {
  /** Build args (`NAME=VALUE`); they override only globally declared ARGs. */
  buildArgs: Record<string, string>
  /** Platforms the automatic TARGET* ARGs describe; one scan per platform. */
  targetPlatforms: string[]
  /** The platform the build runs on (BUILDPLATFORM): the runner's. */
  buildPlatform: string
  /** Variables for Compose interpolation. */
  variables: Record<string, string | undefined>
  /** The job's secrets: a value carrying one is never interpolated into a reference. */
  secrets: readonly string[]
  /** Named build contexts of the build that scans this Dockerfile. */
  contexts?: readonly string[]
  /** Images the same project builds, normalized: a `FROM` naming one is built here, not pulled. */
  localImages?: readonly string[]
  /** How a workflow step runs this Bake file, when one names it. */
  invocation?: BakeInvocation
  /** Reads a file beside the scanned one (`.env`); null when it does not exist. */
  readBeside: (name: string) => string | null
}

/** How one kind of reference is shown and pinned. */
export interface ReferenceKindSpec {
  name: string
  /** What the kind is, for the README's table. */
  description: string
  /** Language of the fenced block the pinned line is shown in. */
  fence: string
  /** The line as written, its image pinned to `digest`. */
  pin: (reference: FoundReference & { image: ImageReference }, digest: string) => string
}

export interface Source {
  /** What the files are called in messages: `Dockerfile`, `Compose file`. */
  name: string
  kinds: readonly ReferenceKindSpec[]
  /** Default file patterns (fast-glob syntax). */
  patterns: readonly string[]
  /**
   * Its files name other files and say how to read them (a workflow step runs a Bake file
   * in its workdir): they are read before the rest, so what they name is read as they say.
   */
  readsFirst?: boolean
  /** Whether a matched path is this source's to scan. */
  claims: (path: string) => boolean
  /** Pure: the file's references, the problems found, and the builds to follow. */
  scan: (file: string, text: string, context: ScanContext) => SourceScan
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

/** One kind, two sources: a named build context that is a registry image. */
export const BUILD_CONTEXT = {
  name: 'build-context',
  description:
    'a named build context `NAME=docker-image://IMAGE`: `build-contexts` of `docker/build-push-action`, `contexts` of a Bake target (a Dockerfile `FROM NAME` is that image)'
} as const

/**
 * A build context that is not a folder here: a URL (`https://…`, `git://…`, `ssh://…`) or a
 * Git SSH address (`git@github.com:org/repo.git`), as Compose, Bake and build-push-action take
 * them. Its Dockerfile is not in the repository, so it is not scanned.
 */
export function isRemoteContext(context: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(context) || context.startsWith('git@')
}

/** `image@digest`, replacing a digest already there. */
export function pinWord(word: string, digest: string): string {
  return `${word.replace(/@[^@\s]*$/, '')}@${digest}`
}

/** A piece of a repository file as messages quote it: enough to find it, never a whole hostile line. */
export function excerpt(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}…` : text
}
