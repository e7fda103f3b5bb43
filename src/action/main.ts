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
import { LockfileStore } from '../baseline/lockfile-store.js'
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
  actionReport,
  endingOf,
  type LogEntry,
  type MissingBaseline
} from '../report/action-report.js'
import { publish } from '../report/github.js'
import { suggestionsFor } from '../report/suggestions.js'
import { baselineDigests, currentDigests, pinReferences } from '../pipeline/pin.js'
import { writeSarif } from '../report/sarif.js'
import { readInputs, type ActionInputs } from './inputs.js'
import { readRunEvent, type RunEvent } from './event.js'
import { progressLines } from '../report/progress.js'
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
  const event = readRunEvent(env)
  const { recording, facts } = await recordingOf(inputs, env, event)
  const store: BaselineStore = inputs.lockfile
    ? new LockfileStore(cwd, inputs.lockfile)
    : new CacheStore({
        state: { save: core.saveState, get: core.getState },
        prefix: inputs.cacheKey,
        legacyPrefix: inputs.legacyCacheKey,
        // an entry lives in the scope of the ref that saved it
        chain: refChain(inputs.cacheKey, env.GITHUB_REF ?? ''),
        deadlineMs: inputs.timeoutSeconds * 1000,
        workspace: cwd,
        temp: env.RUNNER_TEMP || tmpdir(),
        env
      })
  const policy = policyOf(inputs)
  // the scan, the registries and the cache library's lines, folded in the log
  core.startGroup('Checking base images')
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
    progress: progressLines(line => core.info(line), { detail: line => core.debug(line) }),
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
  }).finally(() => core.endGroup())
  const missing =
    result.restored.state === 'none'
      ? await whyMissing(result, inputs, recording, facts, env)
      : null
  // the files rewritten for a later commit step, before the report that tells of them
  const pinned =
    inputs.writePins === 'off'
      ? null
      : pinReferences(
          cwd,
          result.discovered.references,
          inputs.writePins === 'baseline'
            ? baselineDigests(result.baseline)
            : currentDigests(result.resolutions),
          true
        )
  const report = actionReport(result, { recording, missing, lockfile: inputs.lockfile, pinned })
  const marker = `<!-- base-image-drift: ${env.GITHUB_WORKFLOW ?? ''}/${env.GITHUB_JOB ?? ''} -->`
  for (const entry of report.log) print(entry)
  for (const [name, value] of Object.entries(report.outputs)) core.setOutput(name, value)
  await core.summary.addRaw(report.summary).write()
  if (inputs.sarif) writeSarif(resolve(cwd, inputs.sarif), report.everyAnnotation)
  const published = await publish(
    {
      token: inputs.githubToken,
      report: report.summary,
      commentText: report.comment,
      drifted: report.outputs.drifted === 'true',
      failed: result.verdict.failures.length > 0,
      comment: inputs.comment,
      checkName: inputs.checkName,
      annotations: report.everyAnnotation,
      marker,
      suggest: inputs.suggest === 'pin',
      suggestions: suggestionsFor(result.findings, result.explanations, marker),
      scannedFiles: result.discovered.files,
      timeoutMs: inputs.timeoutSeconds * 1000
    },
    event
  )
  for (const warning of published) core.warning(warning)
  const ending = endingOf(result, inputs.onMissingBaseline, report.log)
  for (const warning of ending.warnings) core.warning(warning)
  if (ending.kind === 'missing-baseline') {
    // a failed job runs no post step: what this run found is saved now, so the next run compares
    const saved = await store.persistNow(result.saved)
    core.error(`no baseline found (on-missing-baseline: fail)${saved ? `; ${saved}` : ''}`)
    process.exitCode = 3
  } else if (ending.kind === 'fails') {
    if (ending.annotate) core.setFailed(ending.reason)
    else {
      process.exitCode = 1
      core.info(`Failing: ${ending.reason}`)
    }
  }
}

function print(entry: LogEntry): void {
  if (entry.level === 'info') return core.info(entry.message)
  const properties = {
    title: entry.title,
    file: entry.file,
    startLine: entry.line,
    startColumn: entry.column
  }
  if (entry.level === 'error') core.error(entry.message, properties)
  else if (entry.level === 'warning') core.warning(entry.message, properties)
  else core.notice(entry.message, properties)
}

/** Whether this run records the baseline; an `accept` that could not reach another run is refused. */
async function recordingOf(
  inputs: ActionInputs,
  env: NodeJS.ProcessEnv,
  event: RunEvent
): Promise<{ recording: Recording; facts: RunFacts }> {
  const facts: RunFacts = {
    eventName: env.GITHUB_EVENT_NAME ?? 'unknown',
    ref: env.GITHUB_REF ?? '',
    // only the default-branch mode needs to know it (it may cost an API request)
    defaultBranch:
      inputs.saveBaseline === 'default-branch' && !inputs.lockfile
        ? await defaultBranch(env, event, inputs.githubToken, inputs.timeoutSeconds * 1000)
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
  if (inputs.accept !== false && !inputs.lockfile && !event.name.endsWith('_dispatch'))
    // an accept left in a workflow file accepts on every run: the gate is off for those images
    core.warning(
      `input accept is set on a ${event.name} run: every such run accepts the drift it names, so the gate never fails for it; set accept only from a workflow_dispatch input`
    )
  return { recording, facts }
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

async function whyMissing(
  result: Checked,
  inputs: ActionInputs,
  recording: Recording,
  facts: RunFacts,
  env: NodeJS.ProcessEnv
): Promise<MissingBaseline> {
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
