/**
 * Which runs record the baseline. GitHub's cache gives every ref its own scope: an entry
 * saved by a pull request is read by no other run, and a run reads its own ref's entries
 * first, then its pull request's base branch's, then the default branch's. So the default
 * branch is the source of truth, with the maintenance branches named to record too: only
 * their pushes, schedules and dispatches save, and every other run compares with the newest
 * baseline of its base branch (when that branch records) or of the default branch.
 */
import picomatch from 'picomatch'
import type { SaveBaseline } from '../config/defaults.js'
import { isRecord } from '../json.js'
import { githubJson } from './github-api.js'
import type { RunEvent } from './event.js'

/** Events whose runs on the default branch record: they run the branch's own code, as merged. */
const RECORDING_EVENTS = ['push', 'schedule', 'workflow_dispatch', 'repository_dispatch']

export interface RunFacts {
  eventName: string
  /** `refs/heads/main`, `refs/pull/7/merge`, `refs/tags/v1` … */
  ref: string
  /** Null when neither the event nor the API said. */
  defaultBranch: string | null
  /** Branch patterns that record besides the default branch (input recording-branches). */
  recordingBranches: readonly string[]
  /** A pull request's base branch (GITHUB_BASE_REF); '' for other runs. */
  baseBranch: string
  /** The workflow file, or its name: where to accept. */
  workflow: string
}

export interface Recording {
  records: boolean
  /** What was decided and why, for the job summary. */
  statement: string
  /** Where and how drift is accepted so that every run sees it. */
  acceptWhere: string
}

/** Pure: whether this run records, by the input `save-baseline` and what started the run. */
export function decideRecording(mode: SaveBaseline, facts: RunFacts): Recording {
  const records = recordsOn(facts)
  const branch = branchOf(facts.ref)
  // a maintenance branch, and a pull request into one, accept there: its baseline is the one they read
  const acceptOn =
    facts.defaultBranch === null
      ? 'the default branch'
      : [branch, facts.baseBranch].find(b => b && records(b)) || facts.defaultBranch
  const acceptWhere = `run the workflow ${facts.workflow} on ${acceptOn} by hand (Actions → Run workflow) with the input accept set to the images to accept, or true`
  const run = `this ${facts.eventName} run of ${shortRef(facts.ref)}`
  if (mode === 'never')
    return {
      records: false,
      statement: `${run} records nothing (save-baseline: never)`,
      acceptWhere
    }
  if (mode === 'always')
    return {
      records: true,
      statement: `${run} records the baseline for its ref (save-baseline: always)`,
      acceptWhere: 'run this job again with the input accept set to the images to accept, or true'
    }
  if (facts.defaultBranch === null)
    return {
      records: false,
      statement: `${run} records nothing: the default branch could not be told (the event names no repository and the API did not say)`,
      acceptWhere
    }
  const which = recordingBranchesText(facts)
  if (branch !== null && records(branch) && RECORDING_EVENTS.includes(facts.eventName))
    return {
      records: true,
      statement: `${run} records the baseline: pushes, schedules and dispatches on ${which} are the source of truth`,
      acceptWhere
    }
  const comparesWith =
    facts.baseBranch && records(facts.baseBranch) ? facts.baseBranch : facts.defaultBranch
  return {
    records: false,
    statement: `${run} compares with ${comparesWith}'s newest baseline and records nothing: only pushes, schedules and dispatches on ${which} record (inputs save-baseline, recording-branches)`,
    acceptWhere
  }
}

/** Whether pushes to a branch record: the default branch, and those recording-branches names. */
export function recordsOn(facts: Pick<RunFacts, 'defaultBranch' | 'recordingBranches'>) {
  const named = picomatch([...facts.recordingBranches])
  return (branch: string) =>
    branch === facts.defaultBranch || (facts.recordingBranches.length > 0 && named(branch))
}

/** "main", or "main and release/*": the branches that record, as the user wrote them. */
export function recordingBranchesText(
  facts: Pick<RunFacts, 'defaultBranch' | 'recordingBranches'>
): string {
  const names = [
    facts.defaultBranch ?? 'the default branch',
    ...facts.recordingBranches.filter(b => b !== facts.defaultBranch)
  ]
  return names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`
}

/** The branch a ref is, or null for a pull request's, a tag's or another ref. */
export function branchOf(ref: string): string | null {
  return ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : null
}

function shortRef(ref: string): string {
  return ref.replace(/^refs\/heads\//, '')
}

/**
 * The repository's default branch: from the event payload, which names it on pushes, pull
 * requests and dispatches; a scheduled run always runs on it; else the REST API.
 */
export async function defaultBranch(
  env: Record<string, string | undefined>,
  event: Pick<RunEvent, 'defaultBranch'>,
  token: string,
  timeoutMs: number
): Promise<string | null> {
  if (event.defaultBranch) return event.defaultBranch
  if (env.GITHUB_EVENT_NAME === 'schedule' && env.GITHUB_REF?.startsWith('refs/heads/'))
    return env.GITHUB_REF.slice('refs/heads/'.length)
  if (!env.GITHUB_REPOSITORY) return null
  const body = await githubJson(token, `/repos/${env.GITHUB_REPOSITORY}`, timeoutMs)
  const branch = isRecord(body) ? body.default_branch : undefined
  return typeof branch === 'string' ? branch : null
}
