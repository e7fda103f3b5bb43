/**
 * Which files a run looks at: the action's `files` globs, or the CLI's paths (a file, or a
 * directory searched with every source's default patterns), less what is never searched.
 * Which source reads each is decided later, from its name and content.
 */
import { realpathSync, statSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { dirname, posix, relative, resolve, sep } from 'node:path'
import fg from 'fast-glob'

/** Never searched: installed packages, vendored Go modules (whose Dockerfiles no build here uses), git's own files. */
const NEVER_SEARCHED = ['**/node_modules/**', '**/vendor/**', '**/.git/**']

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

export interface Selected {
  /** Relative to the working directory, `/`-separated, sorted. */
  files: string[]
  /** Those the user named as they are (no glob characters): one that no source reads is an error. */
  named: ReadonlySet<string>
  /** Directories (or a file's folder) that may be read: the working directory and the paths named. */
  roots: string[]
}

/** The files a selection names, with the default patterns for directories the CLI is given. */
export async function selectFiles(
  select: FileSelection,
  cwd: string,
  defaultPatterns: readonly string[]
): Promise<Selected> {
  const ignore = [...NEVER_SEARCHED, ...(select.exclude ?? [])]
  if ('globs' in select) {
    const named = new Set(
      select.globs.filter(glob => !fg.isDynamicPattern(glob)).map(posix.normalize)
    )
    return { files: await findByGlobs(select.globs, cwd, ignore), named, roots: [cwd] }
  }
  const found = new Set<string>()
  const named = new Set<string>()
  // paths given on the command line are the user's choice, wherever they are: a directory,
  // or a file with its folder (the .env beside a Compose file)
  const roots = [cwd]
  for (const path of select.paths) {
    const absolute = resolve(cwd, path)
    const info = await stat(absolute).catch(() => null)
    if (info === null) throw new MissingPathError(`${path}: no such file or directory`)
    roots.push(info.isDirectory() ? absolute : dirname(absolute))
    if (info.isDirectory()) {
      const prefix = toPosix(relative(cwd, absolute))
      for (const file of await findByGlobs(defaultPatterns, absolute, ignore))
        found.add(prefix ? posix.join(prefix, file) : file)
    } else {
      const file = toPosix(relative(cwd, absolute))
      found.add(file)
      named.add(file)
    }
  }
  return { files: [...found].sort(), named, roots }
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
  const existing = new Set(
    named.filter(glob => statOrNull(resolve(cwd, glob)) !== null).map(posix.normalize)
  )
  const entries = [
    ...existing,
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
    // a directory found by a search is passed over; one named as it is says why it is not read
    if (!info.isFile()) return existing.has(entry)
    // the same file reached through a link and directly is scanned once, under the first path
    const real = realpathSync(absolute)
    if (seen.has(real)) return false
    seen.add(real)
    return true
  })
}

export function statOrNull(path: string) {
  try {
    return statSync(path)
  } catch {
    return null
  }
}

export function toPosix(path: string): string {
  return path.split(sep).join('/')
}
