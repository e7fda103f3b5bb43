/**
 * The action's main step: decides whether this run records the baseline, runs the pipeline, and writes
 * annotations, the job summary, outputs, the pull-request comment and the check run.
 */
import { policyOf } from '../decide/policy.js'
import * as core from '@actions/core'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { tmpdir } from 'node:os'
import { refChain, workflowFile } from '../baseline/cache-key.js'
import { CacheStore } from '../baseline/cache-store.js'
import type { BaselineStore } from '../baseline/store.js'
import { serializeBaseline, type Baseline } from '../baseline/document.js'
import { LockfileStore } from '../baseline/lockfile-store.js'
import type { Restored } from '../baseline/store.js'
import type { Finding } from '../compare/compare.js'
import { ConfigError } from '../config/values.js'
import { run, type Checked } from '../pipeline/run.js'
import { counted } from '../words.js'
import {
  branchOf,
  decideRecording,
  defaultBranch,
  recordsOn,
  type Recording,
  type RunFacts
} from './recording.js'
import { earlierRun, missingBaseline, recordingWorkflows } from './missing-baseline.js'
import { hostPlatform } from '../reference/platform.js'
import {
  ANNOTATIONS_PER_TYPE,
  annotationsFor,
  recordedNotices,
  withinLimits
} from '../report/annotations.js'
import { findingJson } from '../report/findings.js'
import { publish } from '../report/github.js'
import { renderMarkdown } from '../report/markdown.js'
import { logLine } from '../plain-text.js'
import { jsonWithinBytes, STEP_TEXT_BYTES, withinBytes } from '../report/limits.js'
import { writeSarif } from '../report/sarif.js'
import { readInputs, type ActionInputs } from './inputs.js'
import { messageOf } from '../errors.js'

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
      core.error(`base-image-drift: ${messageOf(error)}`)
      process.exitCode = 3
    }
  }
}

async function main(): Promise<void> {
  const env = process.env
  const inputs = readInputs(env)
  const cwd = env.GITHUB_WORKSPACE || process.cwd()
  // the cache's paths are relative to the workspace, which is where the runner starts a step anyway
  process.chdir(cwd)
  const { recording, facts } = await recordingOf(inputs, env)
  const store: BaselineStore = inputs.lockfile
    ? new LockfileStore(cwd, inputs.lockfile)
    : new CacheStore({
        prefix: inputs.cacheKey,
        legacyPrefix: inputs.legacyCacheKey,
        // an entry lives in the scope of the ref that saved it
        chain: refChain(inputs.cacheKey, env.GITHUB_REF ?? ''),
        workspace: cwd,
        temp: env.RUNNER_TEMP || tmpdir(),
        env
      })
  const policy = policyOf(inputs)
  const result = await run({
    until: 'check',
    cwd,
    select: { globs: inputs.files, exclude: inputs.exclude },
    buildArgs: inputs.buildArgs,
    platforms: inputs.platforms,
    runnerPlatform: hostPlatform(env.RUNNER_ARCH, process.arch),
    variables: inputs.variables,
    helmImageKeys: inputs.helmImageKeys,
    secrets: [inputs.githubToken, ...Object.values(inputs.registryAuth).map(a => a.password)],
    registry: {
      timeoutMs: inputs.timeoutSeconds * 1000,
      insecureRegistries: inputs.insecureRegistries,
      mirrors: inputs.registryMirrors,
      registryAuth: inputs.registryAuth,
      githubToken: inputs.githubToken,
      githubActor: env.GITHUB_ACTOR,
      env,
      onSecret: core.setSecret
    },
    store,
    policy,
    save: recording.records,
    explainBudgetMiB: inputs.explainBudgetMiB,
    now: new Date().toISOString(),
    run: env.GITHUB_RUN_ID ? `${env.GITHUB_RUN_ID}-${env.GITHUB_RUN_ATTEMPT ?? '1'}` : undefined,
    commit: env.GITHUB_SHA
  })
  const missing =
    result.restored.state === 'none'
      ? await whyMissing(result, inputs, recording, facts, env)
      : null
  const { annotations, everyAnnotation, report } = writeReport(result, inputs, recording, missing)
  const drifted = result.findings.filter(f => f.status === 'drifted')
  await core.summary.addRaw(report).write()
  if (inputs.sarif) writeSarif(resolve(cwd, inputs.sarif), everyAnnotation)
  const published = await publish({
    token: inputs.githubToken,
    report,
    drifted: drifted.length > 0,
    failed: result.verdict.failures.length > 0,
    comment: inputs.comment,
    checkName: inputs.checkName,
    annotations: everyAnnotation,
    marker: `<!-- base-image-drift: ${env.GITHUB_WORKFLOW ?? ''}/${env.GITHUB_JOB ?? ''} -->`,
    timeoutMs: inputs.timeoutSeconds * 1000
  })
  for (const warning of published) core.warning(warning)
  await finish(result, inputs, store, annotations)
}

/** Whether this run records the baseline; an `accept` that could not reach another run is refused. */
async function recordingOf(
  inputs: ActionInputs,
  env: NodeJS.ProcessEnv
): Promise<{ recording: Recording; facts: RunFacts }> {
  const facts: RunFacts = {
    eventName: env.GITHUB_EVENT_NAME ?? 'unknown',
    ref: env.GITHUB_REF ?? '',
    // only the default-branch mode needs to know it (it may cost an API request)
    defaultBranch:
      inputs.saveBaseline === 'default-branch' && !inputs.lockfile
        ? await defaultBranch(env, inputs.githubToken, inputs.timeoutSeconds * 1000)
        : null,
    recordingBranches: inputs.recordingBranches,
    baseBranch: env.GITHUB_BASE_REF ?? '',
    workflow: workflowFile(env.GITHUB_WORKFLOW_REF) ?? env.GITHUB_WORKFLOW ?? 'this workflow'
  }
  const recording = inputs.lockfile
    ? lockfileRecording(inputs.lockfile, inputs.updateLockfile)
    : decideRecording(inputs.saveBaseline, facts)
  if (inputs.accept !== false && !recording.records)
    throw new ConfigError(
      `input accept: ${recording.statement}, so nothing it accepts would reach another run. To accept: ${recording.acceptWhere}`
    )
  const event = env.GITHUB_EVENT_NAME ?? ''
  if (inputs.accept !== false && !inputs.lockfile && !event.endsWith('_dispatch'))
    // an accept left in a workflow file accepts on every run: the gate is off for those images
    core.warning(
      `input accept is set on a ${event} run: every such run accepts the drift it names, so the gate never fails for it; set accept only from a workflow_dispatch input`
    )
  return { recording, facts }
}

/** The log's warnings and notices, the annotations, the report and the outputs of a run. */
function writeReport(
  result: Checked,
  inputs: ActionInputs,
  recording: Recording,
  missing: Missing | null
) {
  const { findings, explanations, verdict, restored, policy } = result
  const baselineProblem =
    restored.state === 'unavailable'
      ? restored.why
      : result.replaced
        ? `the stored baseline could not be used (${result.replaced}); accept: true replaces it with this run's digests`
        : undefined
  if (baselineProblem) core.warning(baselineProblem)
  // where a run that cannot record finds none, the workflow file is what to change
  if (missing) core.warning(missing.message, missing.file ? { file: missing.file } : {})
  for (const fallback of result.stats.mirrorFallbacks) core.warning(fallback)
  for (const warning of result.discovered.warnings)
    core.warning(warning.message, { file: warning.file, startLine: warning.line })
  // in the log only: what is known only at run time is not a problem of the files
  for (const notice of result.discovered.notices)
    core.info(logLine(`${notice.file}${notice.line ? `:${notice.line}` : ''}: ${notice.message}`))

  const acceptHint = recording.records
    ? recording.acceptWhere
    : `${recording.acceptWhere}, then re-run this job`
  const everyAnnotation = annotationsFor(findings, explanations, result.verdict, acceptHint)
  // images the baseline lacked, recorded as they are now: a notice each, with its pin line
  const recordedNew = restored.state === 'found' && result.saved ? recordedNotices(findings) : []
  const { annotations, omitted } = withinLimits([...everyAnnotation, ...recordedNew])
  for (const a of annotations) {
    const properties = { title: a.title, file: a.file, startLine: a.line, startColumn: a.column }
    if (a.level === 'error') core.error(a.message, properties)
    else if (a.level === 'warning') core.warning(a.message, properties)
    else core.notice(a.message, properties)
  }
  const lockfileText = inputs.lockfile ? lockfileToCommit(result) : null
  const report = withinBytes(
    renderMarkdown(findings, {
      explanations,
      baselineFound: result.baseline !== null,
      baselineProblem,
      missingBaseline: missing?.message,
      verdict,
      rateLimitRemaining: result.stats.rateLimitRemaining,
      acceptHint,
      unannotated: omitted,
      records: recording.records,
      accepted: result.saved ? policy.accept : false,
      baselineStatement: baselineStatement(restored, recording.statement),
      lockfileToCommit: lockfileText ? { name: inputs.lockfile, text: lockfileText } : undefined
    })
  )
  setOutputs(result, report, lockfileText)
  return { annotations, everyAnnotation, report }
}

function setOutputs(result: Checked, report: string, lockfileText: string | null): void {
  const drifted = result.findings.filter(f => f.status === 'drifted')
  core.setOutput('drifted', drifted.length > 0 ? 'true' : 'false')
  const bounded = (name: string, list: Finding[]) => {
    const { json, omitted } = jsonWithinBytes(list.map(f => findingJson(f, result.explanations)))
    if (omitted > 0)
      core.warning(
        `output ${name}: ${counted(omitted, 'finding')} left out to stay under GitHub's 1 MiB; the job summary lists them`
      )
    return json
  }
  core.setOutput('changes', bounded('changes', drifted))
  core.setOutput('images', bounded('images', result.findings))
  core.setOutput('report', report)
  core.setOutput('baseline-found', result.baseline !== null ? 'true' : 'false')
  // a lockfile cut short is no lockfile: past the limit the summary says how to write it instead
  const lockfileFits = lockfileText !== null && Buffer.byteLength(lockfileText) <= STEP_TEXT_BYTES
  core.setOutput('lockfile', lockfileFits ? lockfileText : '')
}

/** The job's result: kept-baseline and save warnings, a missing baseline under `fail`, the verdict. */
async function finish(
  result: Checked,
  inputs: ActionInputs,
  store: BaselineStore,
  annotations: readonly { level: string }[]
): Promise<void> {
  const { verdict } = result
  if (verdict.keptBecause) core.warning(verdict.keptBecause)
  if (result.saveProblem) core.warning(result.saveProblem)
  if (result.restored.state === 'none' && inputs.onMissingBaseline === 'fail') {
    // a failed job runs no post step: what this run found is saved now, so the next run compares
    const saved = await store.persistNow(result.saved)
    core.error(`no baseline found (on-missing-baseline: fail)${saved ? `; ${saved}` : ''}`)
    process.exitCode = 3
    return
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

/** A lockfile run: it records when it rewrites the lockfile, and accepting is committing it. */
function lockfileRecording(name: string, update: boolean): Recording {
  return {
    records: update,
    statement: update
      ? `this run rewrites ${name} when it passes; committing it records the baseline`
      : `this run compares with ${name} and changes nothing (update-lockfile: false)`,
    acceptWhere: `commit the lockfile this run's summary shows as ${name} (a change to it in a pull request is an acceptance), or run with accept and update-lockfile: true and commit the file`
  }
}

/** Why no baseline was found, and the file to annotate with it. */
interface Missing {
  message: string
  file?: string
}

async function whyMissing(
  result: Checked,
  inputs: ActionInputs,
  recording: Recording,
  facts: RunFacts,
  env: NodeJS.ProcessEnv
): Promise<Missing> {
  const images = new Set(result.findings.flatMap(f => (f.image ? [f.image] : []))).size
  if (inputs.lockfile)
    return {
      message: `no baseline found (${inputs.lockfile} does not exist: a first run, or it was deleted): ${counted(images, 'image')} ${result.saved ? 'recorded' : 'neither compared nor recorded'} without comparison; set on-missing-baseline: fail to fail instead`
    }
  const actionRepository = (env.GITHUB_ACTION_REPOSITORY ?? '').toLowerCase()
  const isThisAction = (text: string) => {
    const lower = text.toLowerCase()
    return (
      lower.includes('base-image-drift') || (!!actionRepository && lower.includes(actionRepository))
    )
  }
  const cwd = process.cwd()
  const recorders = recording.records ? [] : recordingWorkflows(cwd, facts, isThisAction)
  const records = recordsOn(facts)
  const own = branchOf(facts.ref) ?? ''
  const branch = recording.records
    ? own
    : facts.baseBranch && records(facts.baseBranch)
      ? facts.baseBranch
      : (facts.defaultBranch ?? '')
  const asked = recording.records ? facts.workflow : recorders[0]
  const earlier =
    asked && branch
      ? await earlierRun(
          env,
          inputs.githubToken,
          asked,
          branch,
          isThisAction,
          inputs.timeoutSeconds * 1000
        )
      : undefined
  const { message } = missingBaseline({
    records: recording.records,
    branches: facts,
    branch: branch || 'the default branch',
    workflow: facts.workflow,
    recorders,
    unrestorable: result.restored.state === 'none' ? result.restored.unrestorable : undefined,
    earlier,
    images
  })
  const suffix = '; set on-missing-baseline: fail to fail instead'
  return {
    message: message + suffix,
    file:
      !recording.records && existsSync(resolve(cwd, facts.workflow)) ? facts.workflow : undefined
  }
}

function baselineStatement(restored: Restored, decided: string): string {
  const from = restored.state === 'found' && restored.from ? `Compared with ${restored.from}; ` : ''
  const sentence = `${from}${decided}.`
  return sentence.charAt(0).toUpperCase() + sentence.slice(1)
}

/**
 * The lockfile that accepts this run's digests, when its images differ from what is
 * committed and this run did not write it: the summary carries it to commit.
 */
function lockfileToCommit(result: Checked): string | null {
  if (result.saved) return null
  const digests = (baseline: Baseline | null) =>
    JSON.stringify(
      Object.entries(baseline?.images ?? {})
        .map(([key, entry]) => [key, entry.digest])
        .sort()
    )
  if (digests(result.accepting) === digests(result.baseline)) return null
  return serializeBaseline(result.accepting)
}
