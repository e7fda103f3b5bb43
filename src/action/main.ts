import * as core from '@actions/core'
import { resolve } from 'node:path'
import { CacheStore } from '../baseline/cache-store.js'
import { LockfileStore } from '../baseline/lockfile-store.js'
import { ConfigError } from '../config/values.js'
import { run } from '../pipeline/run.js'
import { hostPlatform } from '../reference/platform.js'
import { ANNOTATIONS_PER_TYPE, annotationsFor, withinLimits } from '../report/annotations.js'
import { findingJson } from '../report/findings.js'
import { publish } from '../report/github.js'
import { renderMarkdown } from '../report/markdown.js'
import { writeSarif } from '../report/sarif.js'
import { readInputs } from './inputs.js'

/**
 * The action's main step: inputs in; annotations, report, outputs and the job's result
 * out. Exit status as the CLI's: 1 only for drift (or errors under on-error: fail), 2 for
 * invalid inputs, 3 when the baseline cannot be used or anything else stops the run.
 */
export async function runMain(): Promise<void> {
  try {
    if (process.env.GITHUB_ACTIONS !== 'true') {
      core.error(
        'base-image-drift runs as a GitHub Actions step (GITHUB_ACTIONS is not set); outside GitHub, use `node dist/cli.js check`'
      )
      process.exitCode = 2
      return
    }
    await main()
  } catch (error) {
    if (error instanceof ConfigError) {
      core.error(error.message)
      process.exitCode = 2
    } else {
      core.error(`base-image-drift: ${(error as Error).message}`)
      process.exitCode = 3
    }
  }
}

async function main(): Promise<void> {
  const env = process.env
  const inputs = readInputs(env)
  const cwd = env.GITHUB_WORKSPACE || process.cwd()
  const runId = env.GITHUB_RUN_ID
    ? `${env.GITHUB_RUN_ID}-${env.GITHUB_RUN_ATTEMPT ?? '1'}`
    : undefined
  const store = inputs.lockfile
    ? new LockfileStore(resolve(cwd, inputs.lockfile), inputs.lockfile)
    : new CacheStore(inputs.cacheKey, runId ?? '0-1')
  const policy = {
    onDrift: inputs.onDrift,
    onError: inputs.onError,
    accept: inputs.accept,
    failOn: inputs.failOn
  }

  const result = await run({
    until: 'check',
    cwd,
    select: { globs: inputs.files },
    buildArgs: inputs.buildArgs,
    platforms: inputs.platforms,
    runnerPlatform: hostPlatform(env.RUNNER_ARCH, process.arch),
    variables: inputs.variables,
    secrets: [inputs.githubToken, ...Object.values(inputs.registryAuth).map(a => a.password)],
    registry: {
      timeoutMs: inputs.timeoutSeconds * 1000,
      insecureRegistries: inputs.insecureRegistries,
      registryAuth: inputs.registryAuth,
      githubToken: inputs.githubToken,
      githubActor: env.GITHUB_ACTOR,
      env,
      onSecret: core.setSecret
    },
    store,
    policy,
    // a lockfile is rewritten only when asked; the cache keeps every successful run's baseline
    save: inputs.lockfile ? inputs.updateLockfile : true,
    explainBudgetMiB: inputs.explainBudgetMiB,
    now: new Date().toISOString(),
    run: runId,
    commit: env.GITHUB_SHA
  })
  const { findings, explanations, verdict, restored } = result
  const baselineProblem =
    restored.state === 'unavailable'
      ? restored.why
      : result.replaced
        ? `the stored baseline could not be used (${result.replaced}); accept: true replaces it with this run's digests`
        : undefined
  if (baselineProblem) core.warning(baselineProblem)
  for (const warning of result.discovered.warnings)
    core.warning(warning.message, { file: warning.file, startLine: warning.line })
  // in the log only: what is known only at run time is not a problem of the files
  for (const notice of result.discovered.notices)
    core.info(`${notice.file}${notice.line ? `:${notice.line}` : ''}: ${notice.message}`)

  const acceptHint = inputs.lockfile
    ? 'run with `accept: true` and `update-lockfile: true`, then commit the lockfile'
    : 're-run the job with the input `accept: true`'
  const everyAnnotation = annotationsFor(findings, explanations, policy, acceptHint)
  const { annotations, omitted } = withinLimits(everyAnnotation)
  for (const a of annotations) {
    const properties = { title: a.title, file: a.file, startLine: a.line, startColumn: a.column }
    if (a.level === 'error') core.error(a.message, properties)
    else if (a.level === 'warning') core.warning(a.message, properties)
    else core.notice(a.message, properties)
  }
  const report = renderMarkdown(findings, {
    explanations,
    baselineFound: result.baseline !== null,
    baselineProblem,
    verdict,
    rateLimitRemaining: result.stats.rateLimitRemaining,
    acceptHint,
    unannotated: omitted
  })
  const drifted = findings.filter(f => f.status === 'drifted')
  core.setOutput('drifted', drifted.length > 0 ? 'true' : 'false')
  core.setOutput('changes', JSON.stringify(drifted.map(f => findingJson(f, explanations))))
  core.setOutput('images', JSON.stringify(findings.map(f => findingJson(f, explanations))))
  core.setOutput('report', report)
  core.setOutput('baseline-found', result.baseline !== null ? 'true' : 'false')
  await core.summary.addRaw(report).write()
  if (inputs.sarif) writeSarif(resolve(cwd, inputs.sarif), everyAnnotation)
  const published = await publish({
    token: inputs.githubToken,
    report,
    drifted: drifted.length > 0,
    failed: verdict.failures.length > 0,
    comment: inputs.comment,
    checkName: inputs.checkName,
    annotations: everyAnnotation,
    marker: `<!-- base-image-drift: ${env.GITHUB_WORKFLOW ?? ''}/${env.GITHUB_JOB ?? ''} -->`,
    timeoutMs: inputs.timeoutSeconds * 1000
  })
  for (const warning of published) core.warning(warning)

  if (verdict.keptBecause) core.warning(verdict.keptBecause)
  if (result.saveProblem) core.warning(result.saveProblem)
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
