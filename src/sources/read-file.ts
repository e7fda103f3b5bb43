/**
 * Reading a repository's files as hostile input: nothing outside the scanned roots (whatever a
 * symbolic link or a path in a file says), nothing over 1 MiB, no binary file. Each refusal is
 * an error on that file, never a silent gap.
 */
import { closeSync, fstatSync, openSync, readSync, realpathSync } from 'node:fs'
import { resolve, sep } from 'node:path'
import type { ScanWarning } from './source.js'
import { statOrNull } from './select.js'

const MAX_FILE_BYTES = 1024 * 1024

export class RepositoryReader {
  /** Files, or parts of them, that could not be read. */
  readonly errors: ScanWarning[] = []
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
      this.errors.push({ file, message: 'not read: it leads outside the scanned directory' })
      return null
    }
    // synchronous reads: for thousands of small files, a thread-pool hop per call costs more
    // CPU than the reads themselves, and nothing else runs while the scan does
    let fd: number | null = null
    try {
      fd = openSync(absolute, 'r')
      const size = fstatSync(fd).size
      if (size > MAX_FILE_BYTES) {
        this.errors.push({ file, message: `not scanned: larger than 1 MiB (${size} bytes)` })
        return null
      }
      const bytes = Buffer.allocUnsafe(size)
      const length = readSync(fd, bytes, 0, size, 0)
      if (bytes.subarray(0, length).includes(0)) {
        this.errors.push({ file, message: 'not scanned: a binary file (contains NUL bytes)' })
        return null
      }
      const text = bytes.toString('utf8', 0, length)
      // a byte-order mark (Windows editors write one) is no part of any file read here:
      // BuildKit's Dockerfile parser, YAML, HCL and JSON readers all skip it
      return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (!mustExist && code === 'ENOENT') return null
      this.errors.push({ file, message: `not scanned: cannot read it (${code ?? String(error)})` })
      return null
    } finally {
      if (fd !== null) closeSync(fd)
    }
  }
}

function realpathOrNull(path: string): string | null {
  try {
    return realpathSync(path)
  } catch {
    return null
  }
}
