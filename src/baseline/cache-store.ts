/**
 * The baseline in the GitHub Actions cache, living by GitHub's rules: an entry belongs to
 * the ref that saved it, keys are immutable, entries unused for 7 days are evicted. The main
 * step restores the newest entry of the repository's baseline (or, on the first run after an
 * upgrade, the entry an earlier version saved for this step) and stages what this step read;
 * the post step (which runs only when the job succeeded) merges that into the newest entry
 * and uploads the result under a key of its own, when it changes anything.
 */
import * as core from '@actions/core'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { cacheAccess, restoreEntry, saveEntry } from './actions-cache.js'
import type { EntryFormat } from './cache-worker.js'
import { keySafe } from './cache-key.js'
import { serializeBaseline, type Baseline } from './document.js'
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
  key: 'baseline-cache-key',
  prefix: 'baseline-cache-prefix',
  path: 'baseline-cache-path',
  staged: 'baseline-staged'
} as const

/** Where a step's next baseline waits for the upload, and under which names. */
export interface Staging {
  /** The key to save under: prefix, run, attempt, step. */
  key: string
  prefix: string
  /** The cached path as the cache sees it: relative to the workspace, the working directory. */
  path: string
  /** The staged document: this step's own file. */
  staged: string
}

export interface CacheStoreOptions {
  prefix: string
  /** The prefix and path an earlier version saved this step's baseline under: read when the repository's baseline is missing. */
  legacyPrefix: string
  key: string
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
  /** The staging of the last save: the main step uploads it itself when it must. */
  staging: Staging | null = null

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
            from: `${legacy.restored.from}, saved by an earlier version for this step and carried into the repository's baseline`
          }
        : legacy.restored
    }
    const zstd = await restoreEntry(path, prefix, { lookupOnly: true, format: 'zstd' })
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
    const restored = await restoreEntry(path, prefix, { format })
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
      restored: { ...read, from: `the Actions cache entry ${restored.key}` }
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
      `${keySafe(this.options.key)}.json`
    )
    await mkdir(dirname(staged), { recursive: true })
    await writeFile(
      staged,
      JSON.stringify({
        baseline,
        reading,
        restoredKey: this.restoredKey,
        restoredText: this.restoredText
      } satisfies StagedDocument)
    )
    this.staging = {
      key: this.options.key,
      prefix: this.options.prefix,
      path: CACHE_PATH,
      staged
    }
    core.saveState(STATE.key, this.staging.key)
    core.saveState(STATE.prefix, this.staging.prefix)
    core.saveState(STATE.path, this.staging.path)
    core.saveState(STATE.staged, this.staging.staged)
    return null
  }

  async persistNow(): Promise<string | null> {
    if (!this.staging) return null
    const uploaded = await uploadStaged(this.staging)
    // the post step does not upload it again
    CacheStore.clearState()
    this.staging = null
    return uploaded.outcome === 'saved'
      ? `${uploaded.message}, so the next run compares with it`
      : uploaded.message
  }

  /** What the main step staged, as the post step reads it back; null when it staged nothing. */
  static stagingFromState(): Staging | null {
    const staging = {
      key: core.getState(STATE.key),
      prefix: core.getState(STATE.prefix),
      path: core.getState(STATE.path),
      staged: core.getState(STATE.staged)
    }
    return Object.values(staging).every(Boolean) ? staging : null
  }

  /** Forgets the staging, so the post step does not upload what the main step already did. */
  static clearState(): void {
    for (const name of Object.values(STATE)) core.saveState(name, '')
  }
}

interface StagedDocument {
  /** The restored baseline with this step's reading merged in. */
  baseline: Baseline
  reading: Reading
  /** The entry the main step compared with; null when it found none. */
  restoredKey: string | null
  /** That entry as written, when it was the repository's baseline. */
  restoredText: string | null
}

/** How often an upload re-reads the newest entry to merge into it: saves racing the same second. */
const MERGE_ROUNDS = 3

/**
 * Uploads a staged baseline. A baseline saved by another run while this job ran is never
 * overwritten: this step's reading is merged into it. Nothing is saved when the result is
 * what is stored already. After saving, the newest entry is read again: when a run that
 * merged into the same entry saved after this one, this step merges into theirs, so two legs
 * ending in the same second both keep what they read. The cached path is relative to the
 * working directory, which is the workspace.
 */
export async function uploadStaged(staging: Staging): Promise<Upload> {
  // written by this job's main step, in this job's temporary folder
  const staged = JSON.parse(await readFile(staging.staged, 'utf8')) as StagedDocument
  const cached = resolve(staging.path)
  await mkdir(dirname(cached), { recursive: true })
  let saved: string | null = null
  let merged = ''
  // how long this step's last save took, and whether it has waited that long since
  let saveTook = 0
  let settled = true
  try {
    for (let round = 0; round < MERGE_ROUNDS; round++) {
      const newest = await restoreEntry(staging.path, staging.prefix, { lookupOnly: true })
      if (newest.outcome === 'failed')
        return saved
          ? {
              outcome: 'saved',
              message: `baseline saved to the Actions cache as ${saved}${merged}`
            }
          : {
              outcome: 'failed',
              message: `baseline not saved to the cache: could not check for a newer one (${newest.why})`
            }
      if (newest.outcome === 'hit' && newest.key === saved) {
        if (settled) break
        // a save that began while this one ran becomes visible within a few times as long as
        // this one took (a loaded runner's save is slower): look once more then, so that of two
        // saves in the same moment the one that finished first sees the other and merges it
        settled = true
        await new Promise(done => setTimeout(done, Math.min(Math.max(3 * saveTook, 2000), 10_000)))
        round--
        continue
      }
      let saving = staged.baseline
      let stored = staged.restoredText
      if (newest.outcome === 'hit' && newest.key !== staged.restoredKey) {
        const newer = await restoreNewer(staging, cached)
        if (typeof newer === 'string')
          return { outcome: 'failed', message: `baseline not saved to the cache (${newer})` }
        saving = mergeReading(newer.baseline, staged.reading)
        stored = serializeBaseline(newer.baseline)
        merged = ` (merged into ${newer.key}, saved while this job ran)`
      }
      if (serializeBaseline(saving) === stored) {
        if (saved) break
        return {
          outcome: 'skipped',
          message: `baseline not saved: the newest one (${newest.outcome === 'hit' ? newest.key : 'restored'}) already holds what this step read`
        }
      }
      const key = round === 0 ? staging.key : `${staging.key}-${round}`
      await writeBaselineFile(cached, saving)
      const began = performance.now()
      const problem = await saveEntry(staging.path, key)
      if (problem)
        return { outcome: 'failed', message: `baseline not saved to the cache (${problem})` }
      saveTook = performance.now() - began
      settled = false
      saved = key
    }
    return { outcome: 'saved', message: `baseline saved to the Actions cache as ${saved}${merged}` }
  } finally {
    await removeCached(cached)
    await rm(staging.staged, { force: true })
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

async function restoreNewer(
  staging: Staging,
  cached: string
): Promise<{ key: string; baseline: Baseline } | string> {
  const restored = await restoreEntry(staging.path, staging.prefix)
  if (restored.outcome !== 'hit')
    return restored.outcome === 'failed' ? restored.why : 'the newer baseline is gone'
  const read = await readBaselineFile(cached, restored.key, dirname(cached))
  if (read.state === 'found') return { key: restored.key, baseline: read.baseline }
  return `the newer baseline ${restored.key} cannot be read: ${'why' in read ? read.why : 'no file came out of it'}`
}
