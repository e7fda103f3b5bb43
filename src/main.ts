/**
 * The action, as the typescript-action template shapes it: `run()` is the step. One bundle
 * serves the main and the post step, as in docker/actions-toolkit: main leaves a state that
 * only the post step of the same run can read.
 */
import * as core from '@actions/core'
import { runMain } from './action/main.js'
import { runPost } from './action/post.js'

export async function run(): Promise<void> {
  if (core.getState('isPost') === 'true') {
    await runPost()
    return
  }
  if (process.env.GITHUB_STATE) core.saveState('isPost', 'true')
  await runMain()
}
