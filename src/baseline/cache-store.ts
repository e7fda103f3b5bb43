import * as core from '@actions/core'
import { mkdir } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { restoreEntry, saveEntry } from './actions-cache.js'
import type { Baseline } from './document.js'
import { readBaselineFile, writeBaselineFile } from './lockfile-store.js'
import type { BaselineStore, Restored } from './store.js'

/** What the main step leaves for the post step. */
const STATE = {
  key: 'baseline-cache-key',
  prefix: 'baseline-cache-prefix'
} as const

/**
 * The path as the cache sees it. The cache entry's version hashes this string, so it is the
 * same on every runner, OS and container job; `~` is the job's home directory.
 */
const CACHED_PATH = '~/.base-image-drift/baseline.json'

/**
 * The baseline in the GitHub Actions cache: restored by key prefix, which yields the newest
 * baseline saved on this branch, else on the default branch. `save` stages it; the post
 * step (which runs only when the job succeeded) uploads it under a new key each time,
 * since cache entries are immutable.
 */
export class CacheStore implements BaselineStore {
  constructor(
    private readonly prefix: string,
    /** `<run_id>-<run_attempt>`: what makes each saved key new. */
    private readonly run: string
  ) {}

  async restore(): Promise<Restored> {
    await mkdir(dirname(localPath()), { recursive: true })
    const restored = await restoreEntry(CACHED_PATH, this.prefix)
    if (restored.outcome === 'failed') {
      return {
        state: 'unavailable',
        why: `the baseline cache could not be read (${restored.why}), so drift could not be checked; no baseline is saved by this run, and the next run compares with the last good one`
      }
    }
    if (restored.outcome === 'miss') return { state: 'none' }
    return readBaselineFile(localPath())
  }

  async save(baseline: Baseline): Promise<null> {
    await mkdir(dirname(localPath()), { recursive: true })
    await writeBaselineFile(localPath(), baseline)
    core.saveState(STATE.prefix, this.prefix)
    core.saveState(STATE.key, `${this.prefix}${this.run}`)
    return null
  }

  /** The post step: uploads what the main step staged; null when it staged nothing. */
  static async upload(): Promise<{ saved: boolean; message: string } | null> {
    const key = core.getState(STATE.key)
    if (!key) return null
    const problem = await saveEntry(CACHED_PATH, key)
    return problem === null
      ? { saved: true, message: `baseline saved to the Actions cache as ${key}` }
      : { saved: false, message: `baseline not saved to the cache (${problem})` }
  }
}

function localPath(): string {
  return join(homedir(), '.base-image-drift', 'baseline.json')
}
