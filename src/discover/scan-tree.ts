import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { basename, dirname, isAbsolute, posix, relative, resolve, sep } from 'node:path'
import fg from 'fast-glob'
import { parseDotenv, scanCompose } from '../scan/compose.js'
import { scanDockerfile } from '../scan/dockerfile.js'
import type { FoundReference, ScanOptions, ScanResult, ScanWarning } from '../scan/types.js'
import { formatReference } from '../reference/reference.js'

/** SPEC §3's default file patterns. */
export const DEFAULT_PATTERNS = [
  '**/Dockerfile',
  '**/Dockerfile.*',
  '**/*.Dockerfile',
  '**/*.dockerfile',
  '**/Containerfile',
  '**/Containerfile.*',
  '**/compose.y?(a)ml',
  '**/compose.*.y?(a)ml',
  '**/docker-compose.y?(a)ml',
  '**/docker-compose.*.y?(a)ml'
]
const NEVER_SEARCHED = ['**/node_modules/**', '**/.git/**']
const MAX_FILE_BYTES = 1024 * 1024
const COMPOSE_NAME = /^(docker-)?compose(\.[^/]+)?\.ya?ml$/

/** Thrown for a path argument that names nothing. */
export class MissingPathError extends Error {}

export interface TreeOptions extends ScanOptions {
  /** Directory that globs and reported paths are relative to. */
  cwd: string
  /** Environment for Compose interpolation. */
  env: Record<string, string | undefined>
}

/** Files matching globs (the action's `files` input), relative to cwd, sorted. */
export async function findByGlobs(globs: string[], cwd: string): Promise<string[]> {
  const files = await fg(globs, {
    cwd,
    dot: true,
    onlyFiles: true,
    ignore: NEVER_SEARCHED,
    followSymbolicLinks: false
  })
  return files.sort()
}

/** Files named by CLI paths: a file as is, a directory searched with the default patterns. */
export async function findByPaths(paths: string[], cwd: string): Promise<string[]> {
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

/** Reads and scans files; Compose services that build have their Dockerfile scanned too. */
export async function scanFiles(files: string[], options: TreeOptions): Promise<ScanResult> {
  const references: FoundReference[] = []
  const warnings: ScanWarning[] = []
  // synchronous reads: for thousands of small files, a thread-pool hop per call costs more
  // CPU than the reads themselves, and nothing else runs while the scan does
  const read = (file: string, mustExist = true): string | null => {
    const absolute = resolve(options.cwd, file)
    let fd: number | null = null
    try {
      fd = openSync(absolute, 'r')
      const size = fstatSync(fd).size
      if (size > MAX_FILE_BYTES) {
        warnings.push({ file, message: `skipped: larger than 1 MiB (${size} bytes)` })
        return null
      }
      const bytes = Buffer.allocUnsafe(size)
      const length = readSync(fd, bytes, 0, size, 0)
      if (bytes.subarray(0, length).includes(0)) {
        warnings.push({ file, message: 'skipped: binary file (contains NUL bytes)' })
        return null
      }
      return bytes.toString('utf8', 0, length)
    } catch (error) {
      if (!mustExist && (error as NodeJS.ErrnoException).code === 'ENOENT') return null
      warnings.push({
        file,
        message: `skipped: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`
      })
      return null
    } finally {
      if (fd !== null) closeSync(fd)
    }
  }
  const collect = (result: ScanResult) => {
    references.push(...result.references)
    warnings.push(...result.warnings)
  }

  for (const file of files) {
    const content = read(file)
    if (content === null) continue
    if (!COMPOSE_NAME.test(basename(file)) && !/\.ya?ml$/.test(file)) {
      collect(scanDockerfile(file, content, options))
      continue
    }
    // Compose reads `.env` beside the file; the environment wins over it
    const dotenv = read(posix.join(posix.dirname(file), '.env'), false)
    const compose = scanCompose(file, content, {
      ...(dotenv ? parseDotenv(dotenv) : {}),
      ...options.env
    })
    collect(compose)
    for (const build of compose.builds) {
      const target = isAbsolute(build.dockerfile)
        ? build.dockerfile
        : resolve(options.cwd, dirname(file), build.dockerfile)
      const dockerfile = toPosix(relative(options.cwd, target))
      if ((await stat(target).catch(() => null)) === null) {
        warnings.push({
          file,
          line: build.line,
          message: `service "${build.service}" builds ${dockerfile}, which does not exist`
        })
        continue
      }
      const buildContent = read(dockerfile)
      if (buildContent === null) continue
      collect(
        scanDockerfile(dockerfile, buildContent, {
          ...options,
          buildArgs: { ...options.buildArgs, ...build.buildArgs }
        })
      )
    }
  }
  return { references: dedupe(references), warnings }
}

/** Sorted by file and position; a Dockerfile found twice (directly and via Compose) counts once. */
function dedupe(references: FoundReference[]): FoundReference[] {
  const seen = new Set<string>()
  const unique = references.filter(r => {
    const key = [
      r.file,
      r.line,
      r.column,
      r.kind,
      r.image ? formatReference(r.image) : r.error
    ].join('\0')
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
