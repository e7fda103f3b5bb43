import { runtimeToken, type TokenScope } from '../harness/cache-service.js'

/** What starts a run: its environment (event, ref, the cache token's scopes) and its event payload. */
export interface Trigger {
  env: Record<string, string>
  event: object
}

export const DEFAULT_BRANCH = 'main'
const REPOSITORY = { full_name: 'acme/shop', default_branch: DEFAULT_BRANCH }
const rw = (Scope: string): TokenScope => ({ Scope, Permission: 3 })
const r = (Scope: string): TokenScope => ({ Scope, Permission: 1 })
const branchRef = (branch: string) => `refs/heads/${branch}`

/**
 * The scopes GitHub puts in a run's cache token: its own ref (read and write), then for a
 * pull request its base branch, then the default branch (read only).
 */
function scopes(own: string, readOnly: boolean, ...others: string[]): TokenScope[] {
  const list = [readOnly ? r(own) : rw(own)]
  for (const ref of [...others, branchRef(DEFAULT_BRANCH)])
    if (!list.some(s => s.Scope === ref)) list.push(r(ref))
  return list
}

function trigger(
  name: string,
  ref: string,
  tokenScopes: TokenScope[],
  event: object,
  env: Record<string, string> = {}
): Trigger {
  return {
    env: {
      GITHUB_EVENT_NAME: name,
      GITHUB_REF: ref,
      ACTIONS_RUNTIME_TOKEN: runtimeToken(tokenScopes),
      ...env
    },
    event
  }
}

export const on = {
  push: (branch = DEFAULT_BRANCH) =>
    trigger('push', branchRef(branch), scopes(branchRef(branch), false), {
      ref: branchRef(branch),
      repository: REPOSITORY
    }),
  schedule: () =>
    // a scheduled run's payload names no repository: it always runs on the default branch
    trigger('schedule', branchRef(DEFAULT_BRANCH), scopes(branchRef(DEFAULT_BRANCH), false), {
      schedule: '17 3 * * *'
    }),
  dispatch: (branch = DEFAULT_BRANCH, inputs: Record<string, string> = {}) =>
    trigger('workflow_dispatch', branchRef(branch), scopes(branchRef(branch), false), {
      ref: branchRef(branch),
      inputs,
      repository: REPOSITORY
    }),
  pullRequest: (number: number, options: { base?: string; fork?: boolean } = {}) => {
    const base = options.base ?? DEFAULT_BRANCH
    const ref = `refs/pull/${number}/merge`
    return trigger(
      'pull_request',
      ref,
      scopes(ref, options.fork ?? false, branchRef(base)),
      {
        number,
        pull_request: { number, head: { sha: 'b'.repeat(40) }, base: { ref: base } },
        repository: REPOSITORY
      },
      { GITHUB_BASE_REF: base, GITHUB_HEAD_REF: `feature-${number}` }
    )
  },
  /** Runs in the base branch's context; GHES and github.com until mid-2026 gave it a write token. */
  pullRequestTarget: (number: number, base = DEFAULT_BRANCH) =>
    trigger('pull_request_target', branchRef(base), scopes(branchRef(base), false), {
      number,
      pull_request: { number, head: { sha: 'b'.repeat(40) }, base: { ref: base } },
      repository: REPOSITORY
    }),
  mergeGroup: (number: number, base = DEFAULT_BRANCH) => {
    const ref = `refs/heads/gh-readonly-queue/${base}/pr-${number}-${'c'.repeat(40)}`
    return trigger('merge_group', ref, scopes(ref, false, branchRef(base)), {
      merge_group: { head_ref: ref, base_ref: branchRef(base) },
      repository: REPOSITORY
    })
  },
  tag: (name: string) =>
    trigger('push', `refs/tags/${name}`, scopes(`refs/tags/${name}`, false), {
      ref: `refs/tags/${name}`,
      repository: REPOSITORY
    })
}
