/**
 * The run as GitHub describes it: the environment's names and the few facts of the event
 * payload this action uses, read once and checked (the payload is a file, and a workflow's
 * `repository_dispatch` or `workflow_dispatch` inputs shape parts of it).
 */
import { readFileSync } from 'node:fs'
import { isRecord } from '../json.js'

export interface RunEvent {
  /** GITHUB_EVENT_NAME: `push`, `pull_request`, `schedule`… */
  name: string
  repository: { owner: string; repo: string } | null
  /** The payload's `repository.default_branch`: pushes, pull requests and dispatches name it. */
  defaultBranch: string | null
  /** The pull request this run is for, with the commit a check run belongs to. */
  pullRequest: { number: number; headSha: string | null } | null
  /** GITHUB_SHA: the commit a check run belongs to outside a pull request. */
  sha: string
  /** The run's page, for a comment that links to it. */
  runUrl: string
}

export function readRunEvent(env: Record<string, string | undefined>): RunEvent {
  const payload = payloadOf(env.GITHUB_EVENT_PATH)
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/')
  const repository = isRecord(payload.repository) ? payload.repository : {}
  const branch = repository.default_branch
  const pull = isRecord(payload.pull_request) ? payload.pull_request : null
  const number = pull?.number ?? payload.number
  const head = pull && isRecord(pull.head) ? pull.head.sha : undefined
  const server = env.GITHUB_SERVER_URL || 'https://github.com'
  return {
    name: env.GITHUB_EVENT_NAME ?? '',
    repository: owner && repo ? { owner, repo } : null,
    defaultBranch: typeof branch === 'string' && branch !== '' ? branch : null,
    pullRequest:
      pull && typeof number === 'number' && Number.isSafeInteger(number)
        ? { number, headSha: typeof head === 'string' ? head : null }
        : null,
    sha: env.GITHUB_SHA ?? '',
    runUrl: `${server}/${env.GITHUB_REPOSITORY ?? ''}/actions/runs/${env.GITHUB_RUN_ID ?? ''}`
  }
}

/** The event payload as an object; empty when there is none or it is not JSON. */
function payloadOf(path: string | undefined): Record<string, unknown> {
  if (!path) return {}
  try {
    const payload: unknown = JSON.parse(readFileSync(path, 'utf8'))
    return isRecord(payload) ? payload : {}
  } catch {
    return {}
  }
}
