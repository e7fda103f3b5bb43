/**
 * The action's post step (run only when the job succeeded): uploads the baseline the main step staged.
 */
import * as core from '@actions/core'
import { stagingIn, uploadStaged } from '../baseline/cache-store.js'
import { messageOf } from '../errors.js'

/**
 * The action's post step: uploads the baseline main staged, if it staged one. A cache that
 * fails never fails the job.
 */
export async function runPost(): Promise<void> {
  const staging = stagingIn({ save: core.saveState, get: core.getState })
  if (!staging) return
  try {
    // the cached path is relative to the workspace, as the cache's tar paths are
    if (process.env.GITHUB_WORKSPACE) process.chdir(process.env.GITHUB_WORKSPACE)
    const uploaded = await uploadStaged(staging)
    if (uploaded.outcome === 'failed') core.warning(uploaded.message)
    else core.info(uploaded.message)
  } catch (error) {
    core.warning(`baseline not saved to the cache (${messageOf(error)})`)
  }
}
