/**
 * Why a run found no baseline, told apart so that the remedy fits: no workflow of the
 * repository records one (and the trigger to add), one exists that this runner cannot
 * unpack, one was recorded and has been evicted since, or this is the first run. The
 * workflow files are read as the scanner reads any file; earlier runs come from the REST
 * API, and when it cannot say, the message says both what it could be.
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import picomatch from 'picomatch'
import { RepositoryReader } from '../sources/read/read-file.js'
import { parseYaml } from '../sources/read/yaml.js'
import { counted } from '../words.js'
import { isRecord } from '../json.js'
import { githubJson } from './github-api.js'
import { recordingBranchesText, recordsOn, type RunFacts } from './recording.js'

const WORKFLOWS = '.github/workflows'
/** Workflow files read to find the recording ones: more than any repository has. */
const MAX_WORKFLOWS = 500
/** Reusable workflows calling reusable workflows: GitHub allows ten levels. */
const MAX_CALL_DEPTH = 10

type Branches = Pick<RunFacts, 'defaultBranch' | 'recordingBranches'>

/** What a workflow file's triggers and jobs say about recording a baseline. */
export interface WorkflowFacts {
  /** It runs on pushes to a recording branch, or on a schedule (which runs on the default branch). */
  recordingTrigger: boolean
  /** One of its steps uses this action. */
  runsStep: boolean
  /** The local reusable workflows its jobs call (`./.github/workflows/…`), as repository paths. */
  calls: string[]
}

/** Pure: a workflow file's facts, or null when it is not a workflow that can be read. */
export function workflowFacts(
  file: string,
  text: string,
  branches: Branches,
  isThisAction: (uses: string) => boolean
): WorkflowFacts | null {
  const parsed = parseYaml(file, text)
  if ('error' in parsed) return null
  let workflow: unknown
  try {
    // aliases are bounded: a file that expands one past this is not read
    workflow = parsed.document.toJS({ maxAliasCount: 100 })
  } catch {
    return null
  }
  if (!isRecord(workflow)) return null
  const facts: WorkflowFacts = {
    recordingTrigger: recordingTrigger(workflow.on, branches),
    runsStep: false,
    calls: []
  }
  const jobs = isRecord(workflow.jobs) ? Object.values(workflow.jobs) : []
  for (const job of jobs) {
    if (!isRecord(job)) continue
    if (typeof job.uses === 'string' && job.uses.startsWith(`./${WORKFLOWS}/`))
      facts.calls.push(job.uses.slice(2).split('@')[0])
    const steps = Array.isArray(job.steps) ? job.steps : []
    if (
      steps.some(step => isRecord(step) && typeof step.uses === 'string' && isThisAction(step.uses))
    )
      facts.runsStep = true
  }
  return facts
}

/**
 * Whether `on:` runs the workflow where a baseline is recorded: a schedule, or a push whose
 * branch filters let a recording branch through (GitHub's rules: no filter runs on every
 * branch; `tags` alone runs on no branch; `branches-ignore` runs on every branch it does not name).
 */
function recordingTrigger(on: unknown, branches: Branches): boolean {
  const events = typeof on === 'string' ? [on] : Array.isArray(on) ? on : null
  if (events) return events.includes('push') || events.includes('schedule')
  if (!isRecord(on)) return false
  if ('schedule' in on) return true
  if (!('push' in on)) return false
  const push = on.push
  if (!isRecord(push)) return true
  const list = (key: string) =>
    Array.isArray(push[key]) ? push[key].filter(p => typeof p === 'string') : null
  const included = list('branches')
  const ignored = list('branches-ignore')
  const records = recordsOn(branches)
  const named = [branches.defaultBranch ?? '', ...branches.recordingBranches].filter(Boolean)
  if (included) {
    const positive = included.filter(p => !p.startsWith('!'))
    return positive.some(
      pattern => named.some(b => b === pattern || picomatch(pattern)(b)) || records(pattern)
    )
  }
  if (ignored)
    return !ignored.some(
      p => branches.defaultBranch !== null && picomatch(p)(branches.defaultBranch)
    )
  return list('tags') === null && list('tags-ignore') === null
}

/**
 * The repository's workflow files that record a baseline: a recording trigger, and this
 * action run by the workflow itself or by a local reusable workflow it calls.
 */
export function recordingWorkflows(
  workspace: string,
  branches: Branches,
  isThisAction: (uses: string) => boolean
): string[] {
  let names: string[]
  try {
    names = readdirSync(join(workspace, WORKFLOWS)).filter(n => /\.ya?ml$/.test(n))
  } catch {
    return []
  }
  const reader = new RepositoryReader(workspace, [workspace])
  const facts = new Map<string, WorkflowFacts>()
  for (const name of names.sort().slice(0, MAX_WORKFLOWS)) {
    const file = `${WORKFLOWS}/${name}`
    const text = reader.read(file)
    const read = text === null ? null : workflowFacts(file, text, branches, isThisAction)
    if (read) facts.set(file, read)
  }
  const runsStep = (file: string, depth: number): boolean => {
    const workflow = facts.get(file)
    if (!workflow || depth > MAX_CALL_DEPTH) return false
    return workflow.runsStep || workflow.calls.some(called => runsStep(called, depth + 1))
  }
  return [...facts].filter(([file, f]) => f.recordingTrigger && runsStep(file, 0)).map(([f]) => f)
}

/** The last successful run of a workflow on a branch: whether a step of this action ran in it. */
export interface EarlierRun {
  id: number
  date: string
  ranStep: boolean
}

/**
 * The last successful run of `workflow` on `branch` (null: there is none), or undefined when
 * the API could not say (no `actions: read`, an outage).
 */
export async function earlierRun(
  env: Record<string, string | undefined>,
  token: string,
  workflow: string,
  branch: string,
  isThisAction: (stepName: string) => boolean,
  timeoutMs: number
): Promise<EarlierRun | null | undefined> {
  const repository = env.GITHUB_REPOSITORY
  if (!repository) return undefined
  const file = encodeURIComponent(workflow.split('/').pop() ?? workflow)
  const runs = await githubJson(
    token,
    `/repos/${repository}/actions/workflows/${file}/runs?branch=${encodeURIComponent(branch)}&status=success&per_page=1`,
    timeoutMs
  )
  if (!isRecord(runs) || !Array.isArray(runs.workflow_runs)) return undefined
  const last: unknown = runs.workflow_runs[0]
  if (last === undefined) return null
  if (!isRecord(last) || typeof last.id !== 'number') return undefined
  const jobs = await githubJson(
    token,
    `/repos/${repository}/actions/runs/${last.id}/jobs?per_page=100`,
    timeoutMs
  )
  const steps =
    isRecord(jobs) && Array.isArray(jobs.jobs)
      ? jobs.jobs.flatMap(job => (isRecord(job) && Array.isArray(job.steps) ? job.steps : []))
      : []
  return {
    id: last.id,
    date: typeof last.created_at === 'string' ? last.created_at.slice(0, 10) : 'an earlier day',
    ranStep: steps.some(s => isRecord(s) && typeof s.name === 'string' && isThisAction(s.name))
  }
}

/** Why no baseline was found: one of these, each with its own remedy. */
export type MissingReason =
  'unrestorable' | 'never-recorded' | 'evicted' | 'not-yet' | 'first-run' | 'not-yet-or-evicted'

export interface MissingFacts {
  /** Whether this run records (its digests become the baseline). */
  records: boolean
  branches: Branches
  /** The branch whose baseline this run reads: its own when it records, else its base branch's or the default branch's. */
  branch: string
  /** This run's workflow file. */
  workflow: string
  /** The workflow files that record a baseline. */
  recorders: string[]
  /** Why a baseline that exists could not be restored here. */
  unrestorable?: string
  /** The last successful run of the recording workflow; null: none; undefined: not known. */
  earlier: EarlierRun | null | undefined
  /** Distinct images this run checked. */
  images: number
}

/** Pure: why no baseline was found, as one sentence with its remedy and what was left unchecked. */
export function missingBaseline(facts: MissingFacts): { reason: MissingReason; message: string } {
  const images = counted(facts.images, 'image')
  const left = facts.records ? `${images} recorded without comparison` : `${images} not compared`
  const branches = recordingBranchesText(facts.branches)
  const main = facts.branch
  const evicted = (run: EarlierRun, who: string) =>
    `${who} recorded one in run ${run.id} (${run.date}), evicted since: unused for 7 days, or pushed out past the repository's 10 GB cache limit`
  if (facts.unrestorable)
    return {
      reason: 'unrestorable',
      message: `no baseline restored: ${facts.unrestorable}; ${images} neither compared nor recorded`
    }
  if (facts.records) {
    if (facts.earlier?.ranStep)
      return {
        reason: 'evicted',
        message: `no baseline found: ${evicted(facts.earlier, 'this workflow')}; ${left}, and compared from the next run on`
      }
    if (facts.earlier === null)
      return {
        reason: 'first-run',
        message: `no baseline yet: the first run of this workflow on this branch; ${left}, and compared from the next run on`
      }
    return {
      reason: 'not-yet-or-evicted',
      message: `no baseline found: a first run, or one evicted (unused for 7 days, or past the repository's 10 GB cache limit); ${left}, and compared from the next run on`
    }
  }
  if (facts.recorders.length === 0)
    return {
      reason: 'never-recorded',
      message: `no baseline: no workflow records one, since none in ${WORKFLOWS} runs this step on pushes to ${branches} or on a schedule. Add \`push: branches: [${main}]\` to the \`on:\` of ${facts.workflow} (or run this step in a workflow that has it), and the next push to ${main} records the baseline that pull requests compare with; ${left}`
    }
  const recorders = facts.recorders.join(', ')
  if (facts.earlier?.ranStep)
    return {
      reason: 'evicted',
      message: `no baseline: ${evicted(facts.earlier, facts.recorders[0])}; its next push to ${main} or scheduled run records it again, and a schedule keeps it from being evicted; ${left}`
    }
  if (facts.earlier === null)
    return {
      reason: 'not-yet',
      message: `no baseline yet: ${recorders} records one, but has not yet succeeded on ${main}; once it has, runs like this one compare with it; ${left}`
    }
  return {
    reason: 'not-yet-or-evicted',
    message: `no baseline: ${recorders} records one on ${main}, but none was found: it has not succeeded there yet, or the baseline was evicted (unused for 7 days, or past the repository's 10 GB cache limit); ${left}`
  }
}
