/**
 * The action's entry: the step `run()` is, with crashes reported as errors.
 */
import * as core from '@actions/core'
import { exitOnCrash } from './crash.js'
import { run } from './main.js'

exitOnCrash(message => core.error(message))
await run()
// a cache call abandoned at its deadline would keep retrying in the background: the step is done
process.exit()
