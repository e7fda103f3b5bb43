import * as core from '@actions/core'
import { resolve } from 'node:path'
import { tmpdir } from 'node:os'
import { CacheStore } from '../baseline/cache-store.js'
import { readBaselineFile, writeBaselineFile } from '../baseline/lockfile-store.js'
import { ConfigError } from '../config/values.js'
import { findByGlobs, scanFiles } from '../discover/scan-tree.js'
import { check } from '../pipeline/check.js'
import { RegistryClient } from '../registry/remote.js'
import { ANNOTATIONS_PER_TYPE, annotationsFor } from '../report/annotations.js'
import { findingJson } from '../report/findings.js'
import { publish } from '../report/github.js'
import { renderMarkdown } from '../report/markdown.js'
import { readInputs } from './inputs.js'

export const STATE = {
  cacheKey: 'baseline-cache-key',
  cachePrefix: 'baseline-cache-prefix'
} as const

/** The action's main step: restore, scan, resolve, compare, report, decide; stage the baseline for post. */
export async function runMain(): Promise<void> {
  try {
    if (process.env.GITHUB_ACTIONS !== 'true') {
      core.setFailed(
        'base-image-drift runs as a GitHub Actions step (GITHUB_ACTIONS is not set); outside GitHub, use `node dist/cli.js check`'
      )
      return
    }
    await main()
  } catch (error) {
    core.setFailed(
      error instanceof ConfigError
        ? error.message
        : `base-image-drift failed: ${(error as Error).message}`
    )
  }
}

async function main(): Promise<void> {
  const env = process.env
  const inputs = readInputs(env)
  const cwd = env.GITHUB_WORKSPACE || process.cwd()
  const cacheStore = inputs.lockfile
    ? null
    : new CacheStore(inputs.cacheKey, env.RUNNER_TEMP || tmpdir())
  const lockfile = inputs.lockfile ? resolve(cwd, inputs.lockfile) : null

  const restored = lockfile ? await readBaselineFile(lockfile) : await cacheStore!.restore()
  if (restored.warning) core.warning(restored.warning)

  const files = await findByGlobs(inputs.files, cwd)
  const scan = await scanFiles(files, { cwd, env, buildArgs: inputs.buildArgs })
  for (const warning of scan.warnings)
    core.warning(warning.message, { file: warning.file, startLine: warning.line })

  const client = new RegistryClient({
    timeoutMs: inputs.timeoutSeconds * 1000,
    insecureRegistries: inputs.insecureRegistries,
    registryAuth: inputs.registryAuth,
    githubToken: inputs.githubToken,
    githubActor: env.GITHUB_ACTOR,
    env,
    onSecret: core.setSecret
  })
  const policy = { onDrift: inputs.onDrift, onError: inputs.onError, accept: inputs.accept }
  let result
  try {
    result = await check({
      references: scan.references,
      baseline: restored.baseline,
      client,
      platforms: inputs.platforms,
      policy,
      now: new Date().toISOString(),
      run: env.GITHUB_RUN_ID ? `${env.GITHUB_RUN_ID}-${env.GITHUB_RUN_ATTEMPT ?? '1'}` : undefined,
      commit: env.GITHUB_SHA
    })
  } finally {
    await client.close()
  }
  const { findings, verdict, next } = result

  const acceptHint = lockfile
    ? 'run with `accept: true` and `update-lockfile: true`, then commit the lockfile'
    : 're-run the job with the input `accept: true`'
  const { annotations, omitted } = annotationsFor(findings, policy, acceptHint)
  for (const a of annotations) {
    const properties = { title: a.title, file: a.file, startLine: a.line, startColumn: a.column }
    if (a.level === 'error') core.error(a.message, properties)
    else if (a.level === 'warning') core.warning(a.message, properties)
    else core.notice(a.message, properties)
  }
  const report = renderMarkdown(findings, {
    baselineFound: restored.baseline !== null,
    baselineProblem: restored.warning,
    verdict,
    rateLimitRemaining: client.stats.rateLimitRemaining,
    acceptHint,
    unannotated: omitted
  })
  const drifted = findings.filter(f => f.status === 'drifted')
  core.setOutput('drifted', drifted.length > 0 ? 'true' : 'false')
  core.setOutput('changes', JSON.stringify(drifted.map(findingJson)))
  core.setOutput('images', JSON.stringify(findings.map(findingJson)))
  core.setOutput('report', report)
  core.setOutput('baseline-found', restored.baseline !== null ? 'true' : 'false')
  await core.summary.addRaw(report).write()
  const published = await publish({
    token: inputs.githubToken,
    report,
    drifted: drifted.length > 0,
    failed: verdict.failures.length > 0,
    comment: inputs.comment,
    checkName: inputs.checkName,
    annotations: annotationsFor(findings, policy, acceptHint, Infinity).annotations,
    marker: `<!-- base-image-drift: ${env.GITHUB_WORKFLOW ?? ''}/${env.GITHUB_JOB ?? ''} -->`
  })
  for (const warning of published) core.warning(warning)

  if (verdict.keptBecause) core.warning(verdict.keptBecause)
  if (verdict.save) {
    if (lockfile && inputs.updateLockfile) await writeBaselineFile(lockfile, next)
    if (cacheStore) {
      // saved by the post step, which runs only when the whole job succeeded (post-if: success())
      await cacheStore.stage(next)
      core.saveState(STATE.cachePrefix, inputs.cacheKey)
      core.saveState(
        STATE.cacheKey,
        cacheStore.keyFor(env.GITHUB_RUN_ID ?? '0', env.GITHUB_RUN_ATTEMPT ?? '1')
      )
    }
  }
  if (verdict.failures.length > 0) {
    const reason = verdict.failures.join('; ')
    // the failure message is an error annotation too: past GitHub's limit it would push out a drift
    if (annotations.filter(a => a.level === 'error').length < ANNOTATIONS_PER_TYPE)
      core.setFailed(reason)
    else {
      process.exitCode = 1
      core.info(`Failing: ${reason}`)
    }
  }
}
