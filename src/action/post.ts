import * as core from '@actions/core'
import { tmpdir } from 'node:os'
import { CacheStore } from '../baseline/cache-store.js'
import { STATE } from './main.js'

/** The action's post step: saves the baseline main staged, if it staged one. Never fails the job. */
export async function runPost(): Promise<void> {
  const key = core.getState(STATE.cacheKey)
  if (!key) return
  try {
    const warning = await new CacheStore(
      core.getState(STATE.cachePrefix),
      process.env.RUNNER_TEMP || tmpdir()
    ).save(key)
    if (warning) core.warning(warning)
    else core.info(`baseline saved to the Actions cache as ${key}`)
  } catch (error) {
    core.warning(`baseline not saved to the cache (${(error as Error).message})`)
  }
}
