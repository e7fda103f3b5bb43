/**
 * The baseline in the GitHub Actions cache, living by GitHub's rules: an entry belongs to
 * the ref that saved it, keys are immutable, entries unused for 7 days are evicted. The main
 * step restores the newest entry of the repository's baseline (or, on the first run after an
 * upgrade, the entry an earlier version saved for this step) and stages what this step read;
 * the post step (which runs only when the job succeeded) merges that into the newest entry
 * and uploads the result under a key of its own, when it changes anything.
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { cacheAccess, restoreEntry, saveEntry, type CacheRestore } from './actions-cache.js'
import type { EntryFormat } from './cache-worker.js'
import { generationKey, generationOf, keySafe } from './cache-key.js'
import { BaselineError, parseBaseline, serializeBaseline, type Baseline } from './document.js'
import { isRecord } from '../json.js'
import { mergeReading, type Reading } from './merge.js'
import { readBaselineFile, writeBaselineFile } from './lockfile-store.js'
import type { BaselineStore, Restored } from './store.js'

/** The folder of the workspace the cached baseline passes through. */
const CACHE_DIR = '.base-image-drift-cache'
/**
 * The cached path as the cache sees it, relative to the workspace: the same for every
 * baseline, since the entry's version hashes it and the key prefix already tells baselines apart.
 */
const CACHE_PATH = `${CACHE_DIR}/baseline.json`

/** What the main step leaves for the post step. */
const STATE = {
  chain: 'baseline-cache-chain',
  deadline: 'baseline-cache-deadline',
  prefix: 'baseline-cache-prefix',
  path: 'baseline-cache-path',
  staged: 'baseline-staged'
} as const

/** Where a step's next baseline waits for the upload, and under which names. */
export interface Staging {
  /** The keys this ref saves under: the chain, then a generation number. */
  chain: string
  /** How long one cache call may take (the input timeout). */
  deadlineMs: number
  prefix: string
  /** The cached path as the cache sees it: relative to the workspace, the working directory. */
  path: string
  /** The staged document: this step's own file. */
  staged: string
}

/**
 * What the main step leaves for the post step, as actions/cache passes it: the runner's step
 * state (`core.saveState`, read back as `STATE_*`), or a test's map.
 */
export interface StateProvider {
  save(name: string, value: string): void
  get(name: string): string
}

export interface CacheStoreOptions {
  state: StateProvider
  prefix: string
  /** The prefix and path an earlier version saved this step's baseline under: read when the repository's baseline is missing. */
  legacyPrefix: string
  /** The keys of this ref's baselines: the prefix and the ref (`refChain`). */
  chain: string
  /** How long one cache call may take (the input timeout). */
  deadlineMs: number
  /** GITHUB_WORKSPACE: the cache's tar paths are relative to it, and so is the cached path. */
  workspace: string
  /** RUNNER_TEMP: emptied before every job, so nothing of an earlier job is ever read. */
  temp: string
  env: Record<string, string | undefined>
}

/** What the upload did: saved; skipped (the newest baseline holds it all already); failed (the cache). */
export interface Upload {
  outcome: 'saved' | 'skipped' | 'failed'
  message: string
}

export class CacheStore implements BaselineStore {
  private restoredKey: string | null = null
  /** The restored baseline as written, when it is the repository's: a save that changes nothing is skipped. */
  private restoredText: string | null = null
  /** The staging of the last save: uploaded by the post step, or at once by `persistNow`. */
  private staging: Staging | null = null

  constructor(private readonly options: CacheStoreOptions) {}

  async restore(): Promise<Restored> {
    const access = cacheAccess(this.options.env)
    if (!access.read)
      return unavailable(
        `the runner's cache mode (ACTIONS_CACHE_MODE=${access.mode}) does not allow reading the baseline cache`
      )
    if (!this.options.env.ACTIONS_RESULTS_URL && !this.options.env.ACTIONS_CACHE_URL)
      return unavailable('the Actions cache service is not available to this step')
    // the cache's tar paths are relative to the workspace, and the entry's version hashes the
    // path as given, so the path is the same string everywhere and inside the workspace: `~` is
    // /home/runner on the host but /github/home in a container job
    const current = await this.restoreFrom(CACHE_PATH, this.options.prefix, 'portable')
    if (current.outcome !== 'miss') return current.restored
    return this.restoreLegacy()
  }

  /**
   * The entry an earlier version saved for this step: with zstd where the runner had it, else
   * gzip. One saved with zstd is looked up even here without zstd, to say that it exists.
   */
  private async restoreLegacy(): Promise<Restored> {
    const prefix = this.options.legacyPrefix
    const path = `${CACHE_DIR}/${keySafe(prefix).replace(/-+$/, '')}.json`
    for (const format of ['runner', 'portable'] as const) {
      const legacy = await this.restoreFrom(path, prefix, format)
      if (legacy.outcome === 'miss') continue
      return legacy.restored.state === 'found'
        ? {
            ...legacy.restored,
            from: `the baseline an earlier version saved for this step in the Actions cache, carried into the repository's baseline`
          }
        : legacy.restored
    }
    const zstd = await restoreEntry(path, prefix, {
      lookupOnly: true,
      format: 'zstd',
      deadlineMs: this.options.deadlineMs
    })
    return zstd.outcome === 'hit'
      ? {
          state: 'none',
          unrestorable: `the cache entry ${zstd.key}, saved by an earlier version of this action, is compressed with zstd, which this runner does not have; install zstd in this job, or run this step once where zstd is (a GitHub-hosted runner) to carry it into the format every runner reads. Nothing is recorded until then, so its known-good digests are not replaced by unchecked ones`
        }
      : { state: 'none' }
  }

  /** One restore: what it found, or a miss. */
  private async restoreFrom(
    path: string,
    prefix: string,
    format: EntryFormat
  ): Promise<{ outcome: 'hit' | 'miss' | 'failed'; restored: Restored }> {
    const cached = join(this.options.workspace, path)
    // a file left by an earlier step of this job is never taken for what this restore found
    await removeCached(cached)
    await mkdir(dirname(cached), { recursive: true })
    const restored = await restoreEntry(path, prefix, {
      format,
      deadlineMs: this.options.deadlineMs
    })
    if (restored.outcome === 'failed')
      return {
        outcome: 'failed',
        restored: unavailable(`the baseline cache could not be read (${restored.why})`)
      }
    if (restored.outcome === 'miss') {
      await removeCached(cached)
      return { outcome: 'miss', restored: { state: 'none' } }
    }
    if (!existsSync(cached))
      return {
        outcome: 'failed',
        restored: unavailable(
          `the cache entry ${restored.key} was restored but no baseline file came out of it at ${path}`
        )
      }
    const read = await readBaselineFile(
      cached,
      `the cached baseline ${restored.key}`,
      dirname(cached)
    )
    await removeCached(cached)
    if (read.state !== 'found') return { outcome: 'hit', restored: read }
    this.restoredKey = restored.key
    // only the repository's own entry can hold exactly what a save would write
    this.restoredText = path === CACHE_PATH ? serializeBaseline(read.baseline) : null
    return {
      outcome: 'hit',
      restored: {
        ...read,
        from: "the repository's baseline in the Actions cache",
        entry: restored.key
      }
    }
  }

  async save(baseline: Baseline, reading: Reading): Promise<string | null> {
    const access = cacheAccess(this.options.env)
    if (!access.write)
      return `the baseline was not saved: the runner's cache mode (ACTIONS_CACHE_MODE=${access.mode}) does not allow writing the cache`
    const staged = join(
      this.options.temp,
      'base-image-drift',
      'staged',
      // two steps of one job stage a baseline each
      `${keySafe(this.options.chain)}${randomBytes(4).toString('hex')}.json`
    )
    await mkdir(dirname(staged), { recursive: true })
    await writeFile(
      staged,
      stagedText({
        baseline,
        reading,
        restoredKey: this.restoredKey,
        restoredText: this.restoredText
      })
    )
    this.staging = {
      chain: this.options.chain,
      deadlineMs: this.options.deadlineMs,
      prefix: this.options.prefix,
      path: CACHE_PATH,
      staged
    }
    const { state } = this.options
    state.save(STATE.chain, this.staging.chain)
    state.save(STATE.deadline, String(this.staging.deadlineMs))
    state.save(STATE.prefix, this.staging.prefix)
    state.save(STATE.path, this.staging.path)
    state.save(STATE.staged, this.staging.staged)
    return null
  }

  async persistNow(): Promise<string | null> {
    if (!this.staging) return null
    const uploaded = await uploadStaged(this.staging)
    // the post step does not upload it again
    clearStaging(this.options.state)
    this.staging = null
    return uploaded.outcome === 'saved'
      ? `${uploaded.message}, so the next run compares with it`
      : uploaded.message
  }
}

/** What the main step staged, as the post step reads it back; null when it staged nothing. */
export function stagingIn(state: StateProvider): Staging | null {
  const staging = {
    chain: state.get(STATE.chain),
    prefix: state.get(STATE.prefix),
    path: state.get(STATE.path),
    staged: state.get(STATE.staged)
  }
  const deadlineMs = Number(state.get(STATE.deadline))
  return Object.values(staging).every(Boolean) && deadlineMs > 0 ? { ...staging, deadlineMs } : null
}

/** Forgets the staging, so the post step does not upload what the main step already did. */
function clearStaging(state: StateProvider): void {
  for (const name of Object.values(STATE)) state.save(name, '')
}

export interface StagedDocument {
  /** The restored baseline with this step's reading merged in. */
  baseline: Baseline
  reading: Reading
  /** The entry the main step compared with; null when it found none. */
  restoredKey: string | null
  /** That entry as written, when it was the repository's baseline. */
  restoredText: string | null
}

/**
 * The staged document as text. The baseline and the images read are written as baselines,
 * so reading them back checks them as every baseline is checked.
 */
export function stagedText({
  baseline,
  reading,
  restoredKey,
  restoredText
}: StagedDocument): string {
  const read = Object.entries(reading.images)
  return JSON.stringify({
    baseline: serializeBaseline(baseline),
    read: serializeBaseline({
      ...baseline,
      images: Object.fromEntries(read.map(([key, { entry }]) => [key, entry]))
    }),
    accepted: read.filter(([, { accepted }]) => accepted).map(([key]) => key),
    comparedWith: Object.fromEntries(read.map(([key, { comparedWith }]) => [key, comparedWith])),
    scanned: reading.scanned,
    complete: reading.complete,
    restoredKey,
    restoredText
  })
}

/** What `stagedText` wrote; an error naming what is wrong in anything else. */
export function readStaged(text: string): StagedDocument {
  const name = 'the staged baseline'
  const fail = (why: string): never => {
    throw new BaselineError(`${name} ${why}`)
  }
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch {
    fail('is not valid JSON')
  }
  const doc = isRecord(document) ? document : fail('is not an object')
  const textOf = (value: unknown, what: string) =>
    typeof value === 'string' ? value : fail(`has no ${what}`)
  const orNull = (value: unknown, what: string) => (value === null ? null : textOf(value, what))
  const baseline = parseBaseline(textOf(doc.baseline, 'baseline'), name)
  const read = parseBaseline(textOf(doc.read, 'images read'), name).images
  const accepted = new Set(
    Array.isArray(doc.accepted) ? doc.accepted : fail('has no list of accepted images')
  )
  const comparedWith = isRecord(doc.comparedWith)
    ? doc.comparedWith
    : fail('has no digests compared with')
  const scanned = Array.isArray(doc.scanned) ? doc.scanned : fail('has no files scanned')
  const images: Reading['images'] = {}
  for (const [key, entry] of Object.entries(read))
    images[key] = {
      entry,
      accepted: accepted.has(key),
      comparedWith: orNull(comparedWith[key] ?? null, `digest compared with for ${key}`)
    }
  return {
    baseline,
    reading: {
      images,
      scanned: scanned.map(file => textOf(file, 'file name in the files scanned')),
      complete: doc.complete === true
    },
    restoredKey: orNull(doc.restoredKey, 'restored key'),
    restoredText: orNull(doc.restoredText, 'restored text')
  }
}

/**
 * How long another step's save of the same generation may take to appear: its own deadline,
 * and a margin. Past it, that save was abandoned and its key is left reserved.
 */
const SETTLE_MARGIN_MS = 2_000
/** A save slower than this is taken for abandoned, whatever the timeout: the wait stays short. */
const MAX_SETTLE_MS = 30_000
const POLL_MS = 250
/** Steps saving at the same moment: each refused save merges one more of them. */
const MAX_ROUNDS = 8

/**
 * Uploads a staged baseline. A baseline saved by another run while this job ran is never
 * overwritten: this step's reading is merged into it, and nothing is saved when the result is
 * what is stored already. Each save takes the next generation of the ref's keys; when another
 * step holds that key (saves in the same moment), this step waits for its entry, merges into
 * it and takes the next one, so every step keeps what it read. The cached path is relative
 * to the working directory, which is the workspace.
 */
export async function uploadStaged(staging: Staging): Promise<Upload> {
  // written by this job's main step, in this job's temporary folder
  const staged = readStaged(await readFile(staging.staged, 'utf8'))
  const cached = resolve(staging.path)
  await mkdir(dirname(cached), { recursive: true })
  const notSaved = (why: string): Upload => ({
    outcome: 'failed',
    message: `baseline not saved to the cache (${why})`
  })
  const holdsIt = (key: string): Upload => ({
    outcome: 'skipped',
    message: `baseline not saved: the newest one (${key}) already holds what this step read`
  })
  try {
    const lookup = (prefix: string) =>
      restoreEntry(staging.path, prefix, { lookupOnly: true, deadlineMs: staging.deadlineMs })
    // this ref's newest generation first: the base to merge into and the generation after it
    // come from the same answer, so no save between two lookups is skipped
    const last = await lookup(staging.chain)
    if (last.outcome === 'failed') return notSaved(`could not check for a newer one: ${last.why}`)
    // without one yet, what this ref's runs restore: the base branch's, or an older entry's
    const newest = last.outcome === 'hit' ? last : await lookup(staging.prefix)
    if (newest.outcome === 'failed')
      return notSaved(`could not check for a newer one: ${newest.why}`)
    let saving = staged.baseline
    let merged = ''
    /** This step's reading on top of a baseline saved while its job ran; false: it holds it already. */
    const mergeInto = (newer: { key: string; baseline: Baseline }): boolean => {
      saving = mergeReading(newer.baseline, staged.reading)
      merged = ` (merged into ${newer.key}, saved while this job ran)`
      return serializeBaseline(saving) !== serializeBaseline(newer.baseline)
    }
    if (newest.outcome === 'hit' && newest.key !== staged.restoredKey) {
      const newer = await restoreBaseline(staging.path, newest.key, cached, staging.deadlineMs)
      if (typeof newer === 'string') return notSaved(newer)
      if (!mergeInto(newer)) return holdsIt(newer.key)
    } else if (serializeBaseline(saving) === staged.restoredText)
      return holdsIt(newest.outcome === 'hit' ? newest.key : 'restored')
    let generation = (last.outcome === 'hit' ? generationOf(staging.chain, last.key) : 0) + 1
    let abandoned = false
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const key = generationKey(staging.chain, generation)
      await writeBaselineFile(cached, saving)
      const saved = await saveEntry(staging.path, key, staging.deadlineMs)
      if (saved.outcome === 'saved')
        return {
          outcome: 'saved',
          message: `baseline saved to the Actions cache as ${key}${merged}`
        }
      if (saved.outcome === 'failed') return notSaved(saved.why)
      // refused again right after a wait that found nothing: the service refuses every
      // reservation (it answers so for its own failures too), and waiting again is no use
      if (abandoned)
        return notSaved(
          `the cache service refused ${key} as it refused the key before it, and no other save of them appeared`
        )
      const theirs = await awaitGeneration(staging, generation, cached, lookup)
      if (typeof theirs === 'string') return notSaved(theirs)
      if (theirs === null) {
        // a save that was abandoned holds the key: the next one is free
        abandoned = true
        generation++
        continue
      }
      abandoned = false
      if (!mergeInto(theirs)) return holdsIt(theirs.key)
      generation = generationOf(staging.chain, theirs.key) + 1
    }
    return notSaved(`${MAX_ROUNDS} other steps saved this ref's baseline at the same moment`)
  } finally {
    await removeCached(cached)
    await rm(staging.staged, { force: true })
  }
}

/**
 * The ref's newest baseline once its generation is `generation` or later: another step's save
 * of it, which this step's was refused for. Null when none appeared in time; a string, why it
 * could not be read.
 */
async function awaitGeneration(
  staging: Staging,
  generation: number,
  cached: string,
  lookup: (prefix: string) => Promise<CacheRestore>
): Promise<{ key: string; baseline: Baseline } | string | null> {
  // the refused key itself: a restore finds the exact key first, then a later generation
  // (`…-1` starts `…-10`); never an older one committed late
  const refused = generationKey(staging.chain, generation)
  const until = performance.now() + Math.min(staging.deadlineMs, MAX_SETTLE_MS) + SETTLE_MARGIN_MS
  for (;;) {
    const found = await lookup(refused)
    if (found.outcome === 'failed')
      return `could not read the save that holds its key: ${found.why}`
    if (found.outcome === 'hit' && generationOf(staging.chain, found.key) >= generation)
      return restoreBaseline(staging.path, found.key, cached, staging.deadlineMs)
    if (performance.now() >= until) return null
    await new Promise(done => setTimeout(done, POLL_MS))
  }
}

function unavailable(why: string): Restored {
  return {
    state: 'unavailable',
    why: `${why}, so drift could not be checked; no baseline is saved by this run, and the next run compares with the last good one`
  }
}
/** Removes the cached file, and its folder once empty: nothing is left in the workspace. */
async function removeCached(path: string): Promise<void> {
  await rm(path, { force: true })
  await rmdir(dirname(path)).catch(() => undefined)
}

/** The newest baseline whose key starts with `prefix`, restored and read. */
async function restoreBaseline(
  path: string,
  prefix: string,
  cached: string,
  deadlineMs: number
): Promise<{ key: string; baseline: Baseline } | string> {
  const restored = await restoreEntry(path, prefix, { deadlineMs })
  if (restored.outcome !== 'hit')
    return restored.outcome === 'failed' ? restored.why : 'the newer baseline is gone'
  const read = await readBaselineFile(cached, restored.key, dirname(cached))
  if (read.state === 'found') return { key: restored.key, baseline: read.baseline }
  return `the newer baseline ${restored.key} cannot be read: ${'why' in read ? read.why : 'no file came out of it'}`
}
