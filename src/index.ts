/**
 * The action's entry: one bundle serves the main and the post step.
 */
import * as core from '@actions/core'
import { runMain } from './action/main.js'
import { runPost } from './action/post.js'
import { exitOnCrash } from './crash.js'

exitOnCrash(message => core.error(message))

// One bundle serves main and post, as in docker/actions-toolkit: main leaves a state
// that only the post step of the same run can read.
if (core.getState('isPost') === 'true') {
  await runPost()
} else {
  if (process.env.GITHUB_STATE) core.saveState('isPost', 'true')
  await runMain()
}
// a cache call abandoned at its deadline would keep retrying in the background: the step is done
process.exit()
