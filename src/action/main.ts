import * as core from '@actions/core'
import { findByGlobs, scanFiles } from '../discover/scan-tree.js'
import { ConfigError } from '../config/values.js'
import { referenceJson } from '../report/scan-output.js'
import { readInputs } from './inputs.js'

/** The action's main step. */
export async function runMain(): Promise<void> {
  try {
    if (process.env.GITHUB_ACTIONS !== 'true') {
      core.setFailed(
        'base-image-drift runs as a GitHub Actions step (GITHUB_ACTIONS is not set); outside GitHub, use `node dist/cli.js check`'
      )
      return
    }
    const inputs = readInputs()
    const cwd = process.env.GITHUB_WORKSPACE || process.cwd()
    const files = await findByGlobs(inputs.files, cwd)
    const scan = await scanFiles(files, { cwd, env: process.env, buildArgs: inputs.buildArgs })
    for (const warning of scan.warnings)
      core.warning(warning.message, { file: warning.file, startLine: warning.line })
    core.setOutput('images', JSON.stringify(scan.references.map(referenceJson)))
  } catch (error) {
    core.setFailed(
      error instanceof ConfigError
        ? error.message
        : `base-image-drift failed: ${(error as Error).message}`
    )
  }
}
