/**
 * Reading a repository's files as hostile input: nothing outside the scanned roots (whatever a
 * symbolic link or a path in a file says), nothing over 1 MiB (16 MiB for a YAML file, which may
 * be a release manifest), no binary file. Each refusal is
 * an error on that file, never a silent gap.
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from 'node:fs'
import { resolve, sep } from 'node:path'
import type { ScanProblem } from './text.js'
import { statOrNull } from './select.js'
import { codeOf } from '../../errors.js'

/** The most any file a build reads may hold: Dockerfiles, Compose, Bake, workflows, values. */
export const MAX_FILE_BYTES = 1024 * 1024
/** The most a Kubernetes manifest may hold: release manifests (controllers and their CRDs) run to megabytes. */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024

/** A size as the limits are said: `1 MiB`. */
export function mebibytes(bytes: number): string {
  return `${bytes / (1024 * 1024)} MiB`
}

export class RepositoryReader {
  /** Files, or parts of them, that could not be read. */
  readonly errors: ScanProblem[] = []
  private readonly refused = new Set<string>()
  private readonly roots: string[]

  /** `cwd`: what paths are relative to; `roots`: the directories that may be read. */
  constructor(
    private readonly cwd: string,
    roots: readonly string[]
  ) {
    // each root as given and as it really is, for paths that do not exist (yet) to compare with
    this.roots = roots.flatMap(root => [root, realpathOrNull(root) ?? root])
  }

  /** Whether an absolute path, links resolved, is inside a root. */
  inside(absolute: string): boolean {
    const real = realpathOrNull(absolute) ?? absolute
    return this.roots.some(root => real === root || real.startsWith(root + sep))
  }

  /**
   * A file's text, or null with the reason recorded as an error. A file that is only looked
   * for (`mustExist` false: the .env beside a Compose file) and is not there is no error.
   */
  read(file: string, mustExist = true): string | null {
    const absolute = resolve(this.cwd, file)
    if (!mustExist && statOrNull(absolute) === null) return null
    if (!this.inside(absolute)) {
      // nothing of it is read, so nothing of it can end up in a message
      this.refuse(file, 'not read: it leads outside the scanned directory')
      return null
    }
    const limit = /\.ya?ml$/i.test(file) ? MAX_MANIFEST_BYTES : MAX_FILE_BYTES
    const read = readRegularFile(absolute, limit)
    if ('text' in read) return read.text
    if (!mustExist && read.code === 'ENOENT') return null
    this.refuse(file, `not scanned: ${read.why}`)
    return null
  }

  /** A file read twice (selected, then followed) is refused once. */
  private refuse(file: string, message: string): void {
    const key = `${file}\0${message}`
    if (this.refused.has(key)) return
    this.refused.add(key)
    this.errors.push({ file, message })
  }
}

/**
 * A regular file's text, read whole and bounded (a device or a FIFO is never read: `/dev/zero`
 * never ends), without a byte-order mark; or why not, never quoting what it holds.
 */
export function readRegularFile(
  absolute: string,
  limit: number
): { text: string } | { why: string; code?: string } {
  // synchronous reads: for thousands of small files, a thread-pool hop per call costs more
  // CPU than the reads themselves, and nothing else runs while the scan does
  let fd: number | null = null
  try {
    // without blocking: opening a FIFO to read waits for a writer that never comes
    fd = openSync(absolute, constants.O_RDONLY | constants.O_NONBLOCK)
    const stats = fstatSync(fd)
    if (stats.isDirectory()) return { why: 'a directory, not a file' }
    if (!stats.isFile()) return { why: 'not a regular file (a FIFO, a socket or a device)' }
    if (stats.size > limit) return { why: `larger than ${mebibytes(limit)} (${stats.size} bytes)` }
    const bytes = Buffer.allocUnsafe(stats.size)
    const length = readSync(fd, bytes, 0, stats.size, 0)
    if (bytes.subarray(0, length).includes(0)) return { why: 'a binary file (contains NUL bytes)' }
    const text = bytes.toString('utf8', 0, length)
    // a byte-order mark (Windows editors write one) is no part of any file read here:
    // BuildKit's Dockerfile parser, YAML, HCL and JSON readers all skip it
    return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text }
  } catch (error) {
    const code = codeOf(error)
    return { why: `cannot read it (${code ?? String(error)})`, code }
  } finally {
    if (fd !== null) closeSync(fd)
  }
}

/** Whether a path, links resolved, is inside a directory (links resolved too). */
export function isInside(absolute: string, directory: string): boolean {
  const real = realpathOrNull(absolute) ?? absolute
  const root = realpathOrNull(directory) ?? directory
  return real === root || real.startsWith(root + sep)
}

/** A path with its links resolved, or as it is when it does not exist. */
export function realPath(absolute: string): string {
  return realpathOrNull(absolute) ?? absolute
}

function realpathOrNull(path: string): string | null {
  try {
    return realpathSync(path)
  } catch {
    return null
  }
}
