/**
 * The baseline in the GitHub Actions cache, living by GitHub's rules: an entry belongs to
 * the ref that saved it, keys are immutable, entries unused for 7 days are evicted. The main
 * step restores the newest entry for this step's key prefix and stages the next baseline;
 * the post step (which runs only when the job succeeded) uploads it under a key of its own.
 */
import * as core from '@actions/core'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { cacheAccess, restoreEntry, saveEntry } from './actions-cache.js'
import { keySafe } from './cache-key.js'
import {
  BaselineError,
  layerOnto,
  parseBaseline,
  type Baseline,
  type BaselineChanges
} from './document.js'
import { readBaselineFile, writeBaselineFile } from './lockfile-store.js'
import type { BaselineStore, Restored } from './store.js'

/** The folder of the workspace the cached baseline passes through. */
const CACHE_DIR = '.base-image-drift-cache'

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
  key: string
  /** GITHUB_WORKSPACE: the cache's tar paths are relative to it, and so is the cached path. */
  workspace: string
  /** RUNNER_TEMP: emptied before every job, so nothing of an earlier job is ever read. */
  temp: string
  env: Record<string, string | undefined>
}

/**
 * What the upload did: saved; skipped (nothing to add to a newer baseline); failed (the
 * cache); or misconfigured (the key taken by another step: the user must fix it).
 */
export interface Upload {
  outcome: 'saved' | 'skipped' | 'failed' | 'misconfigured'
  message: string
}

export class CacheStore implements BaselineStore {
  private restoredKey: string | null = null
  private readonly cached: string
  /** The cached path as the cache sees it: relative to the workspace. */
  private readonly cachePath: string
  /** The staging of the last save: the main step uploads it itself when it must. */
  staging: Staging | null = null

  constructor(private readonly options: CacheStoreOptions) {
    // The cache's tar paths are relative to the workspace, and the entry's version hashes
    // the path as given, so the path must be the same string everywhere and inside the
    // workspace: `~` is /home/runner on the host but /github/home in a container job, and a
    // file saved from one would come out somewhere else in the other. The file is there only
    // between the restore and its reading, or the write and the upload.
    const name = keySafe(options.prefix).replace(/-+$/, '')
    this.cachePath = `${CACHE_DIR}/${name}.json`
    this.cached = join(options.workspace, this.cachePath)
  }

  async restore(): Promise<Restored> {
    const unavailable = (why: string): Restored => ({
      state: 'unavailable',
      why: `${why}, so drift could not be checked; no baseline is saved by this run, and the next run compares with the last good one`
    })
    const access = cacheAccess(this.options.env)
    if (!access.read)
      return unavailable(
        `the runner's cache mode (ACTIONS_CACHE_MODE=${access.mode}) does not allow reading the baseline cache`
      )
    if (!this.options.env.ACTIONS_RESULTS_URL && !this.options.env.ACTIONS_CACHE_URL)
      return unavailable('the Actions cache service is not available to this step')
    // a file left by an earlier step of this job is never taken for what this restore found
    await removeCached(this.cached)
    await mkdir(dirname(this.cached), { recursive: true })
    const restored = await restoreEntry(this.cachePath, this.options.prefix)
    if (restored.outcome === 'failed')
      return unavailable(`the baseline cache could not be read (${restored.why})`)
    if (restored.outcome === 'miss') return { state: 'none' }
    if (!existsSync(this.cached))
      return unavailable(
        `the cache entry ${restored.key} was restored but no baseline file came out of it at ${this.cachePath}`
      )
    this.restoredKey = restored.key
    const read = await readBaselineFile(this.cached, `the cached baseline ${restored.key}`)
    await removeCached(this.cached)
    return read.state === 'found'
      ? { ...read, from: `the Actions cache entry ${restored.key}` }
      : read
  }

  async save(baseline: Baseline, changes: BaselineChanges): Promise<string | null> {
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
      JSON.stringify({ baseline, changes, restoredKey: this.restoredKey } satisfies StagedDocument)
    )
    this.staging = {
      key: this.options.key,
      prefix: this.options.prefix,
      path: this.cachePath,
      staged
    }
    core.saveState(STATE.key, this.staging.key)
    core.saveState(STATE.prefix, this.staging.prefix)
    core.saveState(STATE.path, this.staging.path)
    core.saveState(STATE.staged, this.staging.staged)
    return null
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
  baseline: Baseline
  changes: BaselineChanges
  /** The entry the main step compared with; null when it found none. */
  restoredKey: string | null
}

/**
 * Uploads a staged baseline. A baseline saved by another run while this job ran is never
 * overwritten: this run's fresh entries are layered on top of it, or, with none, nothing is
 * saved. The cached path is relative to the working directory, which is the workspace.
 */
export async function uploadStaged(staging: Staging): Promise<Upload> {
  // written by this job's main step, in this job's temporary folder
  const staged = JSON.parse(await readFile(staging.staged, 'utf8')) as StagedDocument
  const next = staged.baseline
  const cached = resolve(staging.path)
  await mkdir(dirname(cached), { recursive: true })
  try {
    const newest = await restoreEntry(staging.path, staging.prefix, true)
    if (newest.outcome === 'failed')
      return {
        outcome: 'failed',
        message: `baseline not saved to the cache: could not check for a newer one (${newest.why})`
      }
    let saving = next
    let layered = ''
    if (newest.outcome === 'hit' && newest.key !== staged.restoredKey) {
      const fresh = staged.changes.added.length + staged.changes.accepted.length
      if (fresh === 0)
        return {
          outcome: 'skipped',
          message: `baseline not saved: a newer one (${newest.key}) was saved while this job ran, and this run recorded nothing it lacks`
        }
      const newer = await restoreNewer(staging, cached)
      if (typeof newer === 'string')
        return { outcome: 'failed', message: `baseline not saved to the cache (${newer})` }
      saving = layerOnto(newer.baseline, next, staged.changes)
      layered = ` (this run's ${fresh} new or accepted entries on top of ${newer.key}, saved while this job ran)`
    }
    await writeBaselineFile(cached, saving)
    const problem = await saveEntry(staging.path, staging.key)
    if (problem?.taken)
      return {
        outcome: 'misconfigured',
        message: `the baseline cache key ${staging.key} is already taken: another step of this run saved under it. Two steps or matrix legs that scan the same files with the same build args, platforms and variables share a key; give each its own cache-key`
      }
    if (problem)
      return { outcome: 'failed', message: `baseline not saved to the cache (${problem.why})` }
    return {
      outcome: 'saved',
      message: `baseline saved to the Actions cache as ${staging.key}${layered}`
    }
  } finally {
    await removeCached(cached)
    await rm(staging.staged, { force: true })
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
  try {
    return {
      key: restored.key,
      baseline: parseBaseline(await readFile(cached, 'utf8'), restored.key)
    }
  } catch (error) {
    if (error instanceof BaselineError || (error as NodeJS.ErrnoException).code === 'ENOENT')
      return `the newer baseline ${restored.key} cannot be read: ${(error as Error).message}`
    throw error
  }
}
