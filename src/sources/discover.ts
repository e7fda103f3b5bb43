/**
 * Discovery: the selected files, each read by the source whose file it is, and the files
 * they follow read as they say (a Dockerfile with the args of each build of it); one list
 * of references out. Selecting files, reading them safely and scanning each are their own
 * modules; this one only puts them in order.
 */
import { dirname, isAbsolute, posix, relative, resolve } from 'node:path'
import { DEFAULT_PATTERNS, READ_ORDER, SOURCES, sourceFor } from './index.js'
import { MAX_FILE_BYTES, mebibytes, realPath, RepositoryReader } from './read/read-file.js'
import { selectFiles, statOrNull, toPosix, type FileSelection } from './read/select.js'
import {
  emptyScan,
  referenceKey,
  type Follow,
  type FoundReference,
  type ScanContext,
  type ScanProblem,
  type Source,
  type SourceScan
} from './read/source.js'
import { messageOf } from '../errors.js'

export { MissingPathError, type FileSelection } from './read/select.js'

/** How long the scan works before it lets other work (the cache restore) run. */
const YIELD_EVERY_MS = 20
/**
 * The most ways one file is read (distinct things passed to it: the builds of a Dockerfile,
 * the overlays above a manifest) and the most readings in a run: far more than real
 * repositories make, few enough that a layout of diamonds (2^16 paths) ends in seconds.
 */
export const MAX_READINGS_PER_FILE = 256
export const MAX_READINGS = 20_000
/** The most image references one run gathers: ten thousand distinct images in one pull request take 4 s. */
export const MAX_REFERENCES = 100_000

/** What every file is scanned with (build args, platforms, variables, secrets), and where to look. */
export interface DiscoverOptions extends Pick<
  ScanContext,
  'buildArgs' | 'targetPlatforms' | 'buildPlatform' | 'variables' | 'helmImageKeys' | 'secrets'
> {
  /** Directory that globs and reported paths are relative to; nothing outside it (or the paths named) is read. */
  cwd: string
  select: FileSelection
  /** When the scan must have ended (`performance.now()` time): what is left unread then is an error. */
  deadline?: { at: number; described: string }
}

export interface Discovered {
  files: string[]
  /** Files the patterns matched that no source reads (their content is of no kind read here). */
  passedOver: string[]
  references: FoundReference[]
  warnings: ScanProblem[]
  /** Files, or parts of them, that could not be read. */
  errors: ScanProblem[]
  /** What is set only at run time and so not checked. */
  notices: ScanProblem[]
}

/** Finds, reads and scans the selected files and the files they follow. */
export async function discover(options: DiscoverOptions): Promise<Discovered> {
  const selected = await selectFiles(options.select, options.cwd, DEFAULT_PATTERNS)
  const reader = new RepositoryReader(options.cwd, selected.roots)
  const plan = new ReadingPlan(options, reader)
  const files: string[] = []
  const passedOver: string[] = []
  // the user's own globs say which files to read, whatever their names: their content says how
  const ownGlobs =
    'globs' in options.select && options.select.globs.some(glob => !DEFAULT_PATTERNS.includes(glob))
  for (const file of selected.files) {
    const text = reader.read(file)
    // a file that cannot be read is listed: the reader has said why
    if (text === null) {
      files.push(file)
      continue
    }
    const source = sourceFor(file, text, ownGlobs || selected.named.has(file))
    if (source !== null) {
      files.push(file)
      plan.readOnItsOwn(file, source, text)
    } else if (selected.named.has(file))
      reader.errors.push({
        file,
        message: `not scanned: not a file of a kind read here (${SOURCES.map(s => s.name).join(', ')})`
      })
    else passedOver.push(file)
  }
  const found = await plan.run()
  return { files, passedOver, ...found, errors: [...reader.errors, ...found.errors] }
}

/** One way a file is read: what its followers pass (null: on its own) and who they are. */
interface Reading {
  passed: unknown
  by: string[]
  /** Its references are marked with who builds them. */
  builds: boolean
}

/** A file as one source reads it: on its own (it was selected), or as followers say. */
interface Entry {
  file: string
  source: Source
  onItsOwn: boolean
  readings: Map<string, Reading>
  done: Set<string>
  queued: boolean
  /** Its readings reached their bound, and that was said. */
  capped?: boolean
}

/**
 * Reads files source by source in `READ_ORDER`, so that by the time a file is read, every
 * file that could follow it has been: it is then read once per distinct thing passed to it,
 * or on its own when nothing follows it.
 */
class ReadingPlan {
  private readonly entries = new Map<string, Entry>()
  private readonly queues: Entry[][] = READ_ORDER.map(() => [])
  private readonly texts = new Map<string, string | null>()
  private readonly looked = new Map<string, string | null>()
  private readonly realPaths = new Map<string, string>()
  private readonly oversized = new Set<string>()
  private readings = 0
  private allCapped = false
  private rank = 0
  private readonly found: Pick<SourceScan, 'references' | 'warnings' | 'errors' | 'notices'> = {
    references: [],
    warnings: [],
    errors: [],
    notices: []
  }

  constructor(
    private readonly options: DiscoverOptions,
    private readonly reader: RepositoryReader
  ) {}

  readOnItsOwn(file: string, source: Source, text: string): void {
    this.texts.set(file, text)
    this.entry(file, source).onItsOwn = true
  }

  async run(): Promise<Omit<Discovered, 'files' | 'passedOver'>> {
    // the scan is synchronous work: now and then it lets the cache restore beside it read its answers
    let lastYield = performance.now()
    const deadline = this.options.deadline
    for (this.rank = 0; this.rank < this.queues.length; this.rank++) {
      // by index: the queue grows while it is read (a Compose include), and shifting is linear
      const queue = this.queues[this.rank]
      for (let at = 0; at < queue.length; at++) {
        const now = performance.now()
        if (deadline && now > deadline.at) {
          const left = this.queues.slice(this.rank).reduce((n, q) => n + q.length, 0) - at
          this.found.errors.push({
            file: queue[at].file,
            message: `the scan did not end within the run's limit (${deadline.described}): this file and ${left - 1} more readings were not scanned`
          })
          return { ...this.found, references: dedupe(this.found.references) }
        }
        if (now - lastYield >= YIELD_EVERY_MS) {
          await new Promise(resolve => setImmediate(resolve))
          lastYield = performance.now()
        }
        this.scanEntry(queue[at])
        if (this.found.references.length > MAX_REFERENCES) {
          this.found.errors.push({
            file: queue[at].file,
            message: `more than ${MAX_REFERENCES} image references in all; the files after this one were not scanned`
          })
          return { ...this.found, references: dedupe(this.found.references) }
        }
      }
    }
    return { ...this.found, references: dedupe(this.found.references) }
  }

  /** A file as its source reads it, by its real path: a link, or a folder reached two ways, is one file. */
  private entry(file: string, source: Source): Entry {
    const key = `${source.name}\0${this.realPathOf(file)}`
    let entry = this.entries.get(key)
    if (!entry) {
      entry = { file, source, onItsOwn: false, readings: new Map(), done: new Set(), queued: false }
      this.entries.set(key, entry)
    }
    if (!entry.queued) {
      entry.queued = true
      // a source that follows itself (a Compose include) adds to the queue being read
      this.queues[Math.max(this.rank, READ_ORDER.indexOf(source))].push(entry)
    }
    return entry
  }

  private scanEntry(entry: Entry): void {
    entry.queued = false
    const readings: [string, Reading][] =
      entry.readings.size > 0
        ? [...entry.readings]
        : entry.onItsOwn
          ? [[readingKey(null), { passed: null, by: [], builds: false }]]
          : []
    for (const [key, reading] of readings) {
      if (entry.done.has(key)) continue
      entry.done.add(key)
      const text = this.text(entry.file)
      if (text === null) return
      const scanned = this.scanSafely(entry, text, reading.passed)
      if (reading.builds)
        for (const reference of scanned.references) reference.builtBy = reading.by.join(', ')
      // one by one: spreading a file's hundred thousand references overflows the stack
      for (const found of scanned.references) this.found.references.push(found)
      for (const kind of ['warnings', 'errors', 'notices'] as const)
        for (const found of scanned[kind]) this.found[kind].push(found)
      for (const follow of scanned.follows) this.follow(entry.file, follow)
    }
  }

  /** A file's real path, asked of the file system once however often it is followed. */
  private realPathOf(file: string): string {
    let real = this.realPaths.get(file)
    if (real === undefined) {
      real = realPath(resolve(this.options.cwd, file))
      this.realPaths.set(file, real)
    }
    return real
  }

  /** A file looked for beside another (a `.env`, a kustomization's entries): read once however often it is asked for. */
  private beside(file: string): string | null {
    const key = posix.normalize(file)
    if (!this.looked.has(key)) this.looked.set(key, this.reader.read(key, false))
    return this.looked.get(key) ?? null
  }

  private text(file: string): string | null {
    if (!this.texts.has(file)) this.texts.set(file, this.reader.read(file))
    return this.texts.get(file) ?? null
  }

  /** One file that breaks its parser is an error on that file; the others are still scanned. */
  private scanSafely(entry: Entry, text: string, passed: unknown): SourceScan {
    const { file, source } = entry
    const limit = source.maxBytes ?? MAX_FILE_BYTES
    const size = Buffer.byteLength(text)
    if (size > limit) {
      // said once, however many builds read the file
      if (this.oversized.has(file)) return emptyScan()
      this.oversized.add(file)
      return {
        ...emptyScan(),
        errors: [
          {
            file,
            message: `not scanned: larger than ${mebibytes(limit)} (${size} bytes), the limit for a ${source.name}`
          }
        ]
      }
    }
    try {
      return source.scan(file, text, {
        buildArgs: this.options.buildArgs,
        targetPlatforms: this.options.targetPlatforms,
        buildPlatform: this.options.buildPlatform,
        variables: this.options.variables,
        helmImageKeys: this.options.helmImageKeys ?? [],
        secrets: this.options.secrets,
        passed,
        readBeside: name => this.beside(posix.join(posix.dirname(file), name))
      })
    } catch (error) {
      return {
        ...emptyScan(),
        errors: [{ file, message: `not scanned: ${messageOf(error)}` }]
      }
    }
  }

  /** A file another names: read as it says, if it is inside the scanned directory and there. */
  private follow(from: string, follow: Follow): void {
    const { cwd } = this.options
    const target = isAbsolute(follow.path)
      ? follow.path
      : resolve(cwd, follow.fromRoot ? '.' : dirname(from), follow.path)
    const path = toPosix(relative(cwd, target))
    const at = { file: from, line: follow.line }
    if (!this.reader.inside(target)) {
      this.found.errors.push({
        ...at,
        message: `${follow.by} ${follow.verb} a ${follow.source.name} outside the scanned directory; not read`
      })
      return
    }
    // a file already read or followed exists: only a new one is looked for
    if (!this.realPaths.has(path) && statOrNull(target) === null) {
      this.found.errors.push({
        ...at,
        message: `${follow.by} ${follow.verb} ${path}, which does not exist`
      })
      return
    }
    const entry = this.entry(path, follow.source)
    const key = readingKey(follow.passed)
    const reading = entry.readings.get(key)
    if (reading) {
      reading.by.push(follow.by)
      return
    }
    if (this.readings >= MAX_READINGS) {
      // said once for the run: past this, every file followed would say it again
      if (!this.allCapped)
        this.found.errors.push({
          ...at,
          message: `${follow.by} ${follow.verb} ${path}: the files followed are read in more than ${MAX_READINGS} ways in all; the others are not scanned`
        })
      this.allCapped = true
      return
    }
    if (entry.readings.size >= MAX_READINGS_PER_FILE) {
      if (!entry.capped)
        this.found.errors.push({
          ...at,
          message: `${follow.by} ${follow.verb} ${path}, which is read in more than ${MAX_READINGS_PER_FILE} ways; the others are not scanned`
        })
      entry.capped = true
      return
    }
    this.readings++
    entry.readings.set(key, {
      passed: follow.passed,
      by: [follow.by],
      builds: follow.verb === 'builds'
    })
  }
}

/** The same thing passed twice is one reading, whatever the order of its keys. */
function readingKey(passed: unknown): string {
  return JSON.stringify(passed, (_, value: unknown) =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : value
  )
}

/** Sorted by file and position; a line found twice (directly and via a build, or for two platforms) counts once. */
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
