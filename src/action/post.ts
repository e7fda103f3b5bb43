import * as core from '@actions/core'
import { CacheStore } from '../baseline/cache-store.js'

/** The action's post step: saves the baseline main staged, if it staged one. Never fails the job. */
export async function runPost(): Promise<void> {
  try {
    const uploaded = await CacheStore.upload()
    if (uploaded?.saved) core.info(uploaded.message)
    else if (uploaded) core.warning(uploaded.message)
  } catch (error) {
    core.warning(`baseline not saved to the cache (${(error as Error).message})`)
  }
}
