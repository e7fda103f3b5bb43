/**
 * Discovery: which files to scan, read within limits, handed to the source that claims
 * each, with the builds they name followed; one list of references out.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { dirname, isAbsolute, posix, relative, resolve, sep } from 'node:path'
import fg from 'fast-glob'
import { dockerfileSource } from './dockerfile.js'
import { DEFAULT_PATTERNS, sourceFor } from './index.js'
import {
  referenceKey,
  type FoundReference,
  type ScanContext,
  type ScanWarning,
  type SourceScan
} from './source.js'

const NEVER_SEARCHED = ['**/node_modules/**', '**/.git/**']
const MAX_FILE_BYTES = 1024 * 1024

/** Thrown for a path argument that names nothing. */
export class MissingPathError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'MissingPathError'
  }
}

/** Which files to scan: globs (the action's `files`), or paths (the CLI's: a file, or a directory searched with the default patterns). */
export type FileSelection = { globs: readonly string[] } | { paths: readonly string[] }

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
}

export interface Discovered {
  files: string[]
  references: FoundReference[]
  warnings: ScanWarning[]
  /** Files, or parts of them, that could not be read. */
  errors: ScanWarning[]
}

/** Finds, reads and scans the selected files; builds they name are scanned with their args. */
export async function discover(options: DiscoverOptions): Promise<Discovered> {
  const files =
    'globs' in options.select
      ? await findByGlobs(options.select.globs, options.cwd)
      : await findByPaths(options.select.paths, options.cwd)
  return { files, ...(await scanFiles(files, options)) }
}

async function findByGlobs(globs: readonly string[], cwd: string): Promise<string[]> {
  const files = await fg([...globs], {
    cwd,
    dot: true,
    onlyFiles: true,
    ignore: NEVER_SEARCHED,
    followSymbolicLinks: false
  })
  return files.sort()
}

async function findByPaths(paths: readonly string[], cwd: string): Promise<string[]> {
  const found = new Set<string>()
  for (const path of paths) {
    const absolute = resolve(cwd, path)
    const info = await stat(absolute).catch(() => null)
    if (info === null) throw new MissingPathError(`${path}: no such file or directory`)
    if (info.isDirectory()) {
      const prefix = toPosix(relative(cwd, absolute))
      for (const file of await findByGlobs(DEFAULT_PATTERNS, absolute))
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
  // synchronous reads: for thousands of small files, a thread-pool hop per call costs more
  // CPU than the reads themselves, and nothing else runs while the scan does
  const read = (file: string, mustExist = true): string | null => {
    const absolute = resolve(options.cwd, file)
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
  const context = (file: string, buildArgs: Record<string, string>): ScanContext => ({
    buildArgs,
    targetPlatforms: options.targetPlatforms,
    buildPlatform: options.buildPlatform,
    variables: options.variables,
    readBeside: name => read(posix.join(posix.dirname(file), name), false)
  })
  const collect = (result: Omit<SourceScan, 'builds'>) => {
    references.push(...result.references)
    warnings.push(...result.warnings)
    errors.push(...result.errors)
  }

  // Dockerfile → the distinct build-arg sets it is built with (JSON-keyed)
  const built = new Map<string, Map<string, Record<string, string>>>()
  const direct: string[] = []
  for (const file of files) {
    const source = sourceFor(file)
    if (source === dockerfileSource) {
      direct.push(file)
      continue
    }
    const content = read(file)
    if (content === null) continue
    const scanned = source.scan(file, content, context(file, options.buildArgs))
    collect(scanned)
    for (const build of scanned.builds) {
      const target = isAbsolute(build.dockerfile)
        ? build.dockerfile
        : resolve(options.cwd, dirname(file), build.dockerfile)
      const dockerfile = toPosix(relative(options.cwd, target))
      if ((await stat(target).catch(() => null)) === null) {
        errors.push({
          file,
          line: build.line,
          message: `${build.by} builds ${dockerfile}, which does not exist`
        })
        continue
      }
      const args = { ...options.buildArgs, ...build.buildArgs }
      const sets = built.get(dockerfile) ?? new Map<string, Record<string, string>>()
      sets.set(JSON.stringify(Object.entries(args).sort()), args)
      built.set(dockerfile, sets)
    }
  }
  for (const file of direct) if (!built.has(file)) scanDockerfileWith(file, options.buildArgs)
  for (const [file, sets] of built) for (const args of sets.values()) scanDockerfileWith(file, args)
  return { references: dedupe(references), warnings, errors }

  function scanDockerfileWith(file: string, buildArgs: Record<string, string>): void {
    const content = read(file)
    if (content !== null) collect(dockerfileSource.scan(file, content, context(file, buildArgs)))
  }
}

/** Sorted by file and position; a Dockerfile found twice (directly and via Compose) counts once. */
function dedupe(references: FoundReference[]): FoundReference[] {
  const seen = new Set<string>()
  const unique = references.filter(r => {
    const key = referenceKey(r)
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
  return unique.sort((a, b) =>
    a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column
  )
}

function toPosix(path: string): string {
  return path.split(sep).join('/')
}
