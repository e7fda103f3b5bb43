/**
 * Which runs record the baseline. GitHub's cache gives every ref its own scope: an entry
 * saved by a pull request is read by no other run, and a run reads its own ref's entries
 * first. So the default branch is the one source of truth: by default only its pushes,
 * schedules and dispatches save, and every other run compares with its newest baseline.
 */
import { readFileSync } from 'node:fs'
import type { SaveBaseline } from '../config/defaults.js'

/** Events whose runs on the default branch record: they run the branch's own code, as merged. */
const RECORDING_EVENTS = ['push', 'schedule', 'workflow_dispatch', 'repository_dispatch']

export interface RunFacts {
  eventName: string
  /** `refs/heads/main`, `refs/pull/7/merge`, `refs/tags/v1` … */
  ref: string
  /** Null when neither the event nor the API said. */
  defaultBranch: string | null
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
  const branch = facts.defaultBranch ?? 'the default branch'
  const acceptWhere = `run the workflow ${facts.workflow} on ${branch} by hand (Actions → Run workflow) with the input accept set to the images to accept, or true`
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
  const onDefault = facts.ref === `refs/heads/${facts.defaultBranch}`
  if (onDefault && RECORDING_EVENTS.includes(facts.eventName))
    return {
      records: true,
      statement: `${run} records the baseline: the default branch's pushes, schedules and dispatches are the one source of truth`,
      acceptWhere
    }
  return {
    records: false,
    statement: `${run} compares with ${branch}'s newest baseline and records nothing: only pushes, schedules and dispatches on ${branch} record (input save-baseline)`,
    acceptWhere
  }
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
  token: string,
  timeoutMs: number
): Promise<string | null> {
  const fromEvent = eventDefaultBranch(env.GITHUB_EVENT_PATH)
  if (fromEvent) return fromEvent
  if (env.GITHUB_EVENT_NAME === 'schedule' && env.GITHUB_REF?.startsWith('refs/heads/'))
    return env.GITHUB_REF.slice('refs/heads/'.length)
  if (!env.GITHUB_REPOSITORY || !token) return null
  const api = env.GITHUB_API_URL || 'https://api.github.com'
  try {
    const response = await fetch(`${api}/repos/${env.GITHUB_REPOSITORY}`, {
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/vnd.github+json' },
      signal: AbortSignal.timeout(timeoutMs)
    })
    if (!response.ok) return null
    const body = (await response.json()) as { default_branch?: unknown }
    return typeof body.default_branch === 'string' ? body.default_branch : null
  } catch {
    return null
  }
}

function eventDefaultBranch(path: string | undefined): string | null {
  if (!path) return null
  try {
    const event = JSON.parse(readFileSync(path, 'utf8')) as {
      repository?: { default_branch?: unknown }
    }
    const branch = event?.repository?.default_branch
    return typeof branch === 'string' && branch !== '' ? branch : null
  } catch {
    return null
  }
}
