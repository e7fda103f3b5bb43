import * as core from '@actions/core'
import { mkdir } from 'node:fs/promises'
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
 * The baseline in the GitHub Actions cache: restored by key prefix, which yields the newest
 * baseline saved on this branch, else on the default branch. `save` stages it; the post
 * step (which runs only when the job succeeded) uploads it under a new key each time,
 * since cache entries are immutable.
 */
export class CacheStore implements BaselineStore {
  private readonly path: string

  constructor(
    private readonly prefix: string,
    runnerTemp: string,
    /** `<run_id>-<run_attempt>`: what makes each saved key new. */
    private readonly run: string
  ) {
    this.path = join(runnerTemp, 'base-image-drift', 'baseline.json')
  }

  async restore(): Promise<Restored> {
    await mkdir(dirname(this.path), { recursive: true })
    const restored = await restoreEntry(this.path, this.prefix)
    if (restored.outcome === 'failed') {
      return {
        state: 'unavailable',
        why: `baseline cache unavailable (${restored.why}); comparing against nothing, the job result is unaffected`
      }
    }
    if (restored.outcome === 'miss') return { state: 'none' }
    return readBaselineFile(this.path)
  }

  async save(baseline: Baseline): Promise<null> {
    await mkdir(dirname(this.path), { recursive: true })
    await writeBaselineFile(this.path, baseline)
    core.saveState(STATE.prefix, this.prefix)
    core.saveState(STATE.key, `${this.prefix}${this.run}`)
    return null
  }

  /** The post step: uploads what the main step staged; null when it staged nothing. */
  static async upload(runnerTemp: string): Promise<{ saved: boolean; message: string } | null> {
    const key = core.getState(STATE.key)
    if (!key) return null
    const store = new CacheStore(core.getState(STATE.prefix), runnerTemp, '')
    const problem = await saveEntry(store.path, key)
    return problem === null
      ? { saved: true, message: `baseline saved to the Actions cache as ${key}` }
      : { saved: false, message: `baseline not saved to the cache (${problem})` }
  }
}
