/**
 * Discovery: which files to scan, read within limits, handed to the source that claims
 * each, with the builds they name followed; one list of references out.
 */
import { closeSync, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { dirname, isAbsolute, posix, relative, resolve, sep } from 'node:path'
import fg from 'fast-glob'
import { dockerfileSource } from './dockerfile.js'
import { DEFAULT_PATTERNS, SOURCES, sourceFor } from './index.js'
import {
  referenceKey,
  type BakeInvocation,
  type FoundReference,
  type ScanContext,
  type ScanWarning,
  type Source,
  type SourceScan
} from './source.js'

/** Never searched: installed packages, vendored Go modules (whose Dockerfiles no build here uses), git's own files. */
const NEVER_SEARCHED = ['**/node_modules/**', '**/vendor/**', '**/.git/**']
const MAX_FILE_BYTES = 1024 * 1024
/** How long the scan works before it lets other work (the cache restore) run. */
const YIELD_EVERY_MS = 20

/** Thrown for a path argument that names nothing. */
export class MissingPathError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'MissingPathError'
  }
}

/**
 * Which files to scan: globs (the action's `files`), or paths (the CLI's: a file, or a
 * directory searched with the default patterns); `exclude` globs are not searched (besides
 * node_modules, vendor and .git), but a file named as it is (no glob characters) is read.
 */
export type FileSelection = ({ globs: readonly string[] } | { paths: readonly string[] }) & {
  exclude?: readonly string[]
}

export interface DiscoverOptions {
  /** Directory that globs and reported paths are relative to. */
  cwd: string
  select: FileSelection
  buildArgs: Record<string, string>
  targetPlatforms: string[]
  /** The platform builds run on (BUILDPLATFORM): the runner's. */
  buildPlatform: string
  /** Variables for Compose interpolation. */
  variables: Record<string, string | undefined>
  secrets: readonly string[]
  /**
   * Directories (or files) that may be read; nothing outside them is, whatever a symbolic
   * link or a Compose `build` says. Default: `cwd`.
   */
  roots?: string[]
}

export interface Discovered {
  files: string[]
  references: FoundReference[]
  warnings: ScanWarning[]
  /** Files, or parts of them, that could not be read. */
  errors: ScanWarning[]
  /** What is set only at run time and so not checked. */
  notices: ScanWarning[]
}

/** Finds, reads and scans the selected files; builds they name are scanned with their args. */
export async function discover(options: DiscoverOptions): Promise<Discovered> {
  const ignore = [...NEVER_SEARCHED, ...(options.select.exclude ?? [])]
  const files =
    'globs' in options.select
      ? await findByGlobs(options.select.globs, options.cwd, ignore)
      : await findByPaths(options.select.paths, options.cwd, ignore)
  // paths given on the command line are the user's choice, wherever they are: a directory,
  // or a file with its folder (the .env beside a Compose file)
  const roots =
    'paths' in options.select
      ? [options.cwd, ...(await Promise.all(options.select.paths.map(p => rootOf(options.cwd, p))))]
      : [options.cwd]
  return { files, ...(await scanFiles(files, { ...options, roots })) }
}

async function rootOf(cwd: string, path: string): Promise<string> {
  const absolute = resolve(cwd, path)
  const info = await stat(absolute).catch(() => null)
  return info?.isDirectory() ? absolute : dirname(absolute)
}

async function findByGlobs(
  globs: readonly string[],
  cwd: string,
  ignore: readonly string[]
): Promise<string[]> {
  // a pattern without glob characters names a file: read it even where searches do not go
  const named = globs.filter(glob => !fg.isDynamicPattern(glob))
  const searched = globs.filter(glob => fg.isDynamicPattern(glob))
  // symbolic links are listed, not followed into directories; a link to a file is that file
  const entries = [
    ...named.filter(glob => statOrNull(resolve(cwd, glob)) !== null).map(posix.normalize),
    ...(await fg(searched, {
      cwd,
      dot: true,
      onlyFiles: false,
      ignore: [...ignore],
      followSymbolicLinks: false
    }))
  ]
  const seen = new Set<string>()
  return [...new Set(entries)].sort().filter(entry => {
    const absolute = resolve(cwd, entry)
    const info = statOrNull(absolute)
    if (info === null) return true // a dangling link: reading it says why
    if (!info.isFile()) return false
    // the same file reached through a link and directly is scanned once, under the first path
    const real = realpathSync(absolute)
    if (seen.has(real)) return false
    seen.add(real)
    return true
  })
}

function statOrNull(path: string) {
  try {
    return statSync(path)
  } catch {
    return null
  }
}

async function findByPaths(
  paths: readonly string[],
  cwd: string,
  ignore: readonly string[]
): Promise<string[]> {
  const found = new Set<string>()
  for (const path of paths) {
    const absolute = resolve(cwd, path)
    const info = await stat(absolute).catch(() => null)
    if (info === null) throw new MissingPathError(`${path}: no such file or directory`)
    if (info.isDirectory()) {
      const prefix = toPosix(relative(cwd, absolute))
      for (const file of await findByGlobs(DEFAULT_PATTERNS, absolute, ignore))
        found.add(prefix ? posix.join(prefix, file) : file)
    } else {
      found.add(toPosix(relative(cwd, absolute)))
    }
  }
  return [...found].sort()
}

/**
 * Reads and scans files. A Dockerfile that something builds (a Compose service with its
 * `build.args`) is scanned once per distinct set of args those builds pass, and not also
 * with its ARG defaults merely because a pattern matched it.
 */
export async function scanFiles(
  files: string[],
  options: Omit<DiscoverOptions, 'select'>
): Promise<Omit<Discovered, 'files'>> {
  const references: FoundReference[] = []
  const warnings: ScanWarning[] = []
  const errors: ScanWarning[] = []
  const notices: ScanWarning[] = []
  // each root as given and as it really is, for paths that do not exist (yet) to compare with
  const roots = (options.roots ?? [options.cwd]).flatMap(root => [
    root,
    realpathOrNull(root) ?? root
  ])
  const insideRoots = (absolute: string): boolean => {
    const real = realpathOrNull(absolute) ?? absolute
    return roots.some(root => real === root || real.startsWith(root + sep))
  }
  // synchronous reads: for thousands of small files, a thread-pool hop per call costs more
  // CPU than the reads themselves, and nothing else runs while the scan does
  const read = (file: string, mustExist = true): string | null => {
    const absolute = resolve(options.cwd, file)
    // a file that is only looked for (the .env beside a Compose file) and is not there is no error
    if (!mustExist && statOrNull(absolute) === null) return null
    if (!insideRoots(absolute)) {
      // nothing of it is read, so nothing of it can end up in a message
      errors.push({ file, message: 'not read: it leads outside the scanned directory' })
      return null
    }
    let fd: number | null = null
    try {
      fd = openSync(absolute, 'r')
      const size = fstatSync(fd).size
      if (size > MAX_FILE_BYTES) {
        errors.push({ file, message: `not scanned: larger than 1 MiB (${size} bytes)` })
        return null
      }
      const bytes = Buffer.allocUnsafe(size)
      const length = readSync(fd, bytes, 0, size, 0)
      if (bytes.subarray(0, length).includes(0)) {
        errors.push({ file, message: 'not scanned: a binary file (contains NUL bytes)' })
        return null
      }
      return bytes.toString('utf8', 0, length)
    } catch (error) {
      if (!mustExist && (error as NodeJS.ErrnoException).code === 'ENOENT') return null
      errors.push({
        file,
        message: `not scanned: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`
      })
      return null
    } finally {
      if (fd !== null) closeSync(fd)
    }
  }
  const context = (
    file: string,
    buildArgs: Record<string, string>,
    contexts: readonly string[] = [],
    localImages: readonly string[] = [],
    invocation?: BakeInvocation
  ): ScanContext => ({
    buildArgs,
    contexts,
    localImages,
    ...(invocation ? { invocation } : {}),
    targetPlatforms: options.targetPlatforms,
    buildPlatform: options.buildPlatform,
    variables: options.variables,
    secrets: options.secrets,
    readBeside: name => read(posix.join(posix.dirname(file), name), false)
  })
  const collect = (result: Omit<SourceScan, 'builds'>) => {
    references.push(...result.references)
    warnings.push(...result.warnings)
    errors.push(...result.errors)
    notices.push(...result.notices)
  }

  // Dockerfile → the distinct builds of it: args and named contexts (JSON-keyed)
  type Build = {
    args: Record<string, string>
    contexts: readonly string[]
    localImages: readonly string[]
    by: string[]
  }
  const built = new Map<string, Map<string, Build>>()
  const direct: string[] = []
  // the selected files, then the files they name (a workflow's Bake files), each once;
  // files that name others first (workflows), so a Bake file a step runs is read as it runs it
  type Pending = { file: string; source: Source; invocation?: BakeInvocation }
  const pending: Pending[] = files
    .map(file => ({ file, source: sourceFor(file) }))
    .sort((a, b) => Number(b.source.readsFirst ?? false) - Number(a.source.readsFirst ?? false))
  const queued = new Set(files)
  // the scan is synchronous work: now and then it lets the cache restore beside it read its answers
  let lastYield = performance.now()
  const breathe = async () => {
    if (performance.now() - lastYield < YIELD_EVERY_MS) return
    await new Promise(resolve => setImmediate(resolve))
    lastYield = performance.now()
  }
  for (let next = pending.shift(); next; next = pending.shift()) {
    await breathe()
    const { file, source, invocation } = next
    if (source === dockerfileSource) {
      direct.push(file)
      continue
    }
    const content = read(file)
    if (content === null) continue
    const scanned = scanSafely(
      source,
      file,
      content,
      context(file, options.buildArgs, [], [], invocation)
    )
    collect(scanned)
    for (const follow of scanned.follows ?? []) {
      const target = resolve(options.cwd, follow.path)
      const path = toPosix(relative(options.cwd, target))
      const reader = SOURCES.find(s => s.name === follow.source)
      const waiting = pending.find(p => p.file === path)
      if (waiting && follow.invocation) waiting.invocation ??= follow.invocation
      if (queued.has(path) || !reader) continue
      queued.add(path)
      if (!insideRoots(target)) {
        errors.push({
          file,
          line: follow.line,
          message: `${follow.by} names a file outside the scanned directory; not read`
        })
      } else if ((await stat(target).catch(() => null)) === null) {
        errors.push({
          file,
          line: follow.line,
          message: `${follow.by} names ${path}, which does not exist`
        })
      } else pending.push({ file: path, source: reader, invocation: follow.invocation })
    }
    for (const build of scanned.builds) {
      const target = isAbsolute(build.dockerfile)
        ? build.dockerfile
        : resolve(options.cwd, build.fromRoot ? '.' : dirname(file), build.dockerfile)
      const dockerfile = toPosix(relative(options.cwd, target))
      if (!insideRoots(target)) {
        errors.push({
          file,
          line: build.line,
          message: `${build.by} builds a Dockerfile outside the scanned directory; not read`
        })
        continue
      }
      if ((await stat(target).catch(() => null)) === null) {
        errors.push({
          file,
          line: build.line,
          message: `${build.by} builds ${dockerfile}, which does not exist`
        })
        continue
      }
      const args = { ...options.buildArgs, ...build.buildArgs }
      const contexts = [...(build.contexts ?? [])].sort()
      const localImages = [...(build.localImages ?? [])].sort()
      const sets = built.get(dockerfile) ?? new Map<string, Build>()
      const key = JSON.stringify([Object.entries(args).sort(), contexts, localImages])
      const same = sets.get(key)
      if (same) same.by.push(build.by)
      else sets.set(key, { args, contexts, localImages, by: [build.by] })
      built.set(dockerfile, sets)
    }
  }
  for (const file of direct) {
    await breathe()
    if (!built.has(file)) scanDockerfileWith(file, options.buildArgs)
  }
  for (const [file, sets] of built)
    for (const { args, contexts, localImages, by } of sets.values()) {
      await breathe()
      scanDockerfileWith(file, args, contexts, localImages, by.join(', '))
    }
  return { references: dedupe(references), warnings, errors, notices }

  function scanDockerfileWith(
    file: string,
    buildArgs: Record<string, string>,
    contexts: readonly string[] = [],
    localImages: readonly string[] = [],
    builtBy?: string
  ): void {
    const content = read(file)
    if (content === null) return
    const scanned = scanSafely(
      dockerfileSource,
      file,
      content,
      context(file, buildArgs, contexts, localImages)
    )
    if (builtBy) for (const reference of scanned.references) reference.builtBy = builtBy
    collect(scanned)
  }

  /** One file that breaks its parser is an error on that file; the others are still scanned. */
  function scanSafely(
    source: Source,
    file: string,
    content: string,
    context: ScanContext
  ): SourceScan {
    try {
      return source.scan(file, content, context)
    } catch (error) {
      errors.push({ file, message: `not scanned: ${(error as Error).message ?? String(error)}` })
      return { references: [], warnings: [], errors: [], builds: [], notices: [] }
    }
  }
}

/** Sorted by file and position; a Dockerfile found twice (directly and via Compose) counts once. */
function dedupe(references: FoundReference[]): FoundReference[] {
  const unique = new Map<string, FoundReference>()
  // the same image from two builds of the file: the finding names both (kept as sets, joined once)
  const builders = new Map<FoundReference, Set<string>>()
  for (const r of references) {
    const key = referenceKey(r)
    const first = unique.get(key) ?? r
    unique.set(key, first)
    const by = builders.get(first) ?? new Set(first.builtBy ? [first.builtBy] : [])
    if (r.builtBy) by.add(r.builtBy)
    builders.set(first, by)
  }
  for (const [reference, by] of builders) if (by.size > 0) reference.builtBy = [...by].join(', ')
  return [...unique.values()].sort((a, b) =>
    a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column
  )
}

function toPosix(path: string): string {
  return path.split(sep).join('/')
}

function realpathOrNull(path: string): string | null {
  try {
    return realpathSync(path)
  } catch {
    return null
  }
}
