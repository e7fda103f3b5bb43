/**
 * The sticky pull-request comment and the check run, through the GitHub REST API, with deadlines.
 */
import type { CommentMode } from '../config/defaults.js'
import type { Annotation } from './annotations.js'
import { messageOf, statusOf } from '../errors.js'
import { ApiTimeout, githubClient, type Octokit } from './github-client.js'
import { diffLines, settledBody, suggestionPrefix, type Suggestion } from './suggestions.js'

/** What a publication needs to know of the run (the action reads it from the event). */
export interface PublishedEvent {
  name: string
  repository: Repo | null
  pullRequest: { number: number; headSha: string | null } | null
  sha: string
  runUrl: string
}

export interface Publication {
  token: string
  /** The Markdown report, as in the job summary: the check run's. */
  report: string
  /** The pull-request comment's text: the report with its tables folded. */
  commentText: string
  drifted: boolean
  failed: boolean
  comment: CommentMode
  checkName: string
  /** Every annotation, uncapped: a check run takes them all, 50 per request. */
  annotations: Annotation[]
  /** Tells this job's sticky comment apart from other jobs'. */
  marker: string
  /** Input suggest: post the drifted lines' pins as suggested changes on the pull request. */
  suggest: boolean
  /** Each drifted line's pin, as a suggested change. */
  suggestions: Suggestion[]
  /** The files this run read: only their suggestions of earlier runs are said to be settled. */
  scannedFiles: readonly string[]
  /** Each API request's deadline (input timeout): a stalled API never holds the job. */
  timeoutMs: number
}

const ANNOTATIONS_PER_REQUEST = 50
const MAX_TEXT = 65_000
const LEVEL = { error: 'failure', warning: 'warning', notice: 'notice' } as const

/**
 * The sticky pull-request comment and the check run through the GitHub REST API.
 * Returns warnings instead of throwing: without permission (fork pull requests) the summary
 * and annotations still carry the report.
 */
export async function publish(publication: Publication, event: PublishedEvent): Promise<string[]> {
  const warnings: Refusal[] = []
  const pull = /^pull_request/.test(event.name) ? event.pullRequest : null
  const commenting = pull !== null && publication.comment !== 'never'
  const suggesting = pull !== null && publication.suggest
  if (!commenting && !suggesting && !publication.checkName) return []
  if (!publication.token)
    return [
      'github-token is empty: no pull-request comment or check run; the job summary and annotations carry the report'
    ]
  if (!event.repository)
    return ['GITHUB_REPOSITORY is not set: no pull-request comment or check run']
  // most runs have nothing to post: the GitHub client is loaded only when one does
  const octokit = await githubClient(publication.token, publication.timeoutMs)
  // whose comments this token writes, asked once for the comment and the suggestions
  let identity: Promise<string> | null = null
  const author = () => (identity ??= tokenIdentity(octokit))
  if (pull !== null && commenting) {
    try {
      await stickyComment(octokit, event.repository, pull.number, publication, event.runUrl, author)
    } catch (error) {
      warnings.push(refusal(error, 'comment on the pull request', 'pull-requests: write'))
    }
  }
  if (pull !== null && suggesting) {
    try {
      await suggestPins(octokit, event.repository, pull, publication, author)
    } catch (error) {
      warnings.push(refusal(error, 'suggest pins as review comments', 'pull-requests: write'))
    }
  }
  if (publication.checkName) {
    try {
      await checkRun(octokit, event.repository, pull?.headSha ?? event.sha, publication)
    } catch (error) {
      warnings.push(
        refusal(error, `create the check run "${publication.checkName}"`, 'checks: write')
      )
    }
  }
  return oneWarningPerCause(warnings, publication)
}

/** A request the API did not carry out: what it was for and the permission it needs. */
interface Refusal {
  error: unknown
  what: string
  permission: string
}

function refusal(error: unknown, what: string, permission: string): Refusal {
  return { error, what, permission }
}

/**
 * A read-only token (a fork's pull request) refuses every write: that is one warning, as
 * the README promises, not one per refused request.
 */
function oneWarningPerCause(refusals: Refusal[], publication: Publication): string[] {
  const denied = refusals.filter(r => {
    const status = statusOf(r.error)
    return !(r.error instanceof ApiTimeout) && (status === 403 || status === 404)
  })
  if (denied.length < 2)
    return refusals.map(r => refusalMessage(r.error, r.what, r.permission, publication))
  const status = statusOf(denied[0].error)
  const permissions = [...new Set(denied.map(r => `\`${r.permission}\``))]
  return [
    `could not ${denied.map(r => r.what).join(' or ')} (HTTP ${status}): the github-token needs the ${permissions.join(' and ')} ${permissions.length === 1 ? 'permission' : 'permissions'}, which pull requests from forks never get; the job summary and annotations carry the report`,
    ...refusals
      .filter(r => !denied.includes(r))
      .map(r => refusalMessage(r.error, r.what, r.permission, publication))
  ]
}

type Repo = { owner: string; repo: string }

async function stickyComment(
  octokit: Octokit,
  repo: Repo,
  issue: number,
  p: Publication,
  run: string,
  author: () => Promise<string>
): Promise<void> {
  const comments = await octokit.paginate(octokit.rest.issues.listComments, {
    ...repo,
    issue_number: issue,
    per_page: 100
  })
  // anyone can post a comment carrying the marker: only our own is ever edited
  const login = await author()
  const existing = comments.find(c => c.body?.includes(p.marker) && c.user?.login === login)
  let body: string
  // a failing run is said whatever failed it: never "resolved" over images nobody checked
  if (p.drifted || p.failed || p.comment === 'always') {
    body = `${p.marker}\n${truncate(p.commentText)}`
  } else if (existing) {
    // drift fixed since the last comment: say so rather than leave a stale alarm
    body = `${p.marker}\n## Base image drift resolved\n\nNo image changed under its tag in the latest run (${run}).`
  } else {
    return
  }
  if (existing) await octokit.rest.issues.updateComment({ ...repo, comment_id: existing.id, body })
  else await octokit.rest.issues.createComment({ ...repo, issue_number: issue, body })
}

/**
 * The drifted lines' pins as one review of suggested changes, on the lines of the diff (the
 * only ones GitHub takes them on) that read in the pull request's head as they do here (the
 * run reads the merge commit). A suggestion of an earlier run is edited, never posted again;
 * one whose thread was resolved, or that is outdated, is left as it is; one whose line this
 * run read no longer drifting says so.
 */
async function suggestPins(
  octokit: Octokit,
  repo: Repo,
  pull: { number: number; headSha: string | null },
  p: Publication,
  author: () => Promise<string>
): Promise<void> {
  const pullRequest = { ...repo, pull_number: pull.number, per_page: 100 }
  const login = await author()
  const ours = (await octokit.paginate(octokit.rest.pulls.listReviewComments, pullRequest)).filter(
    c => c.user?.login === login && c.body.startsWith(suggestionPrefix(p.marker))
  )
  if (p.suggestions.length === 0 && ours.length === 0) return
  const resolved = ours.length > 0 ? await resolvedComments(octokit, repo, pull.number) : null
  const files = await octokit.paginate(octokit.rest.pulls.listFiles, pullRequest)
  const shown = new Map(files.map(f => [f.filename, diffLines(f.patch ?? '')]))
  // a line on the diff that, in the head, reads as the suggestion replaces it
  const onHead = (s: Suggestion) =>
    s.original.every((text, i) => shown.get(s.file)?.get(s.startLine + i) === text)
  const wanted = new Map(p.suggestions.map(s => [s.key, s]))
  const scanned = new Set(p.scannedFiles)
  for (const comment of ours) {
    const key = comment.body.split('\n', 1)[0]
    // a resolved thread is the team's word: left alone, as is every one when that cannot be told
    if (resolved === null || resolved.has(comment.id)) {
      wanted.delete(key)
      continue
    }
    // an outdated suggestion (its line changed since) can no longer be committed: a new one is posted
    if (comment.line === null || comment.line === undefined) continue
    const suggestion = wanted.get(key)
    wanted.delete(key)
    const body = suggestion
      ? // edited only where it still sits on the lines it replaces, as the head reads them
        comment.line === suggestion.line &&
        (comment.start_line ?? comment.line) === suggestion.startLine &&
        onHead(suggestion)
        ? suggestion.body
        : null
      : scanned.has(comment.path)
        ? settledBody(key)
        : null
    if (body !== null && body !== comment.body)
      await octokit.rest.pulls.updateReviewComment({ ...repo, comment_id: comment.id, body })
  }
  if (wanted.size === 0) return
  const onDiff = [...wanted.values()].filter(onHead)
  if (onDiff.length === 0) return
  await octokit.rest.pulls.createReview({
    ...repo,
    pull_number: pull.number,
    ...(pull.headSha ? { commit_id: pull.headSha } : {}),
    event: 'COMMENT',
    body: `Base image drift: ${onDiff.length === 1 ? 'a line' : `${onDiff.length} lines`} of this pull request can keep the known-good image. Commit the suggestions, one by one or as a batch.`,
    comments: onDiff.map(s => ({
      path: s.file,
      line: s.line,
      side: 'RIGHT' as const,
      ...(s.startLine < s.line ? { start_line: s.startLine, start_side: 'RIGHT' as const } : {}),
      body: s.body
    }))
  })
}

/** The ids of review comments whose threads are resolved; null when the API cannot say. */
async function resolvedComments(
  octokit: Octokit,
  repo: Repo,
  number: number
): Promise<Set<number> | null> {
  const resolved = new Set<number>()
  let cursor: string | null = null
  try {
    // the REST API does not tell a thread's resolution: GraphQL's reviewThreads does
    for (let page = 0; page < 50; page++) {
      const answer: ReviewThreads = await octokit.graphql(REVIEW_THREADS, {
        ...repo,
        number,
        cursor
      })
      const threads = answer.repository?.pullRequest?.reviewThreads
      if (!threads) return null
      for (const thread of threads.nodes ?? [])
        if (thread?.isResolved)
          for (const comment of thread.comments?.nodes ?? [])
            if (typeof comment?.databaseId === 'number') resolved.add(comment.databaseId)
      if (!threads.pageInfo?.hasNextPage) return resolved
      cursor = threads.pageInfo.endCursor ?? null
    }
    // more threads than it reads: not told, so every one is left alone
    return null
  } catch {
    return null
  }
}

const REVIEW_THREADS = `query($owner: String!, $repo: String!, $number: Int!, $cursor: String) {
  repository(owner: $owner, name: $repo) {
    pullRequest(number: $number) {
      reviewThreads(first: 100, after: $cursor) {
        nodes { isResolved comments(first: 100) { nodes { databaseId } } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}`

/** The answer to REVIEW_THREADS, every part optional: it is read, never trusted. */
interface ReviewThreads {
  repository?: {
    pullRequest?: {
      reviewThreads?: {
        nodes?: ({
          isResolved?: boolean
          comments?: { nodes?: ({ databaseId?: unknown } | null)[] }
        } | null)[]
        pageInfo?: { hasNextPage?: boolean; endCursor?: string | null }
      }
    }
  } | null
}

/** Whose comments this token writes: its user, or for the workflow's GITHUB_TOKEN (which cannot ask), the Actions bot. */
async function tokenIdentity(octokit: Octokit): Promise<string> {
  try {
    return (await octokit.rest.users.getAuthenticated()).data.login
  } catch {
    return 'github-actions[bot]'
  }
}

async function checkRun(
  octokit: Octokit,
  repo: Repo,
  headSha: string,
  p: Publication
): Promise<void> {
  const annotations = p.annotations.map(a => ({
    path: a.file,
    start_line: a.line,
    end_line: a.line,
    annotation_level: LEVEL[a.level],
    title: a.title,
    message: a.message
  }))
  const batches: (typeof annotations)[] = []
  for (let i = 0; i < annotations.length; i += ANNOTATIONS_PER_REQUEST)
    batches.push(annotations.slice(i, i + ANNOTATIONS_PER_REQUEST))
  const title = p.failed
    ? p.drifted
      ? 'Base images drifted'
      : 'Base images could not be checked'
    : p.drifted
      ? 'Base images drifted (warning)'
      : 'No base image drift'
  const output = (batch: typeof annotations | undefined) => ({
    title,
    summary: truncate(p.report),
    ...(batch ? { annotations: batch } : {})
  })
  const created = await octokit.rest.checks.create({
    ...repo,
    name: p.checkName,
    head_sha: headSha,
    status: 'completed',
    conclusion: p.failed ? 'failure' : p.drifted ? 'neutral' : 'success',
    output: output(batches[0])
  })
  for (const batch of batches.slice(1)) {
    await octokit.rest.checks.update({
      ...repo,
      check_run_id: created.data.id,
      output: output(batch)
    })
  }
}

function refusalMessage(
  error: unknown,
  what: string,
  permission: string,
  publication: Publication
): string {
  const status = statusOf(error)
  if (error instanceof ApiTimeout)
    return `could not ${what}: the GitHub API gave no answer within ${publication.timeoutMs / 1000} s (input timeout); the job summary and annotations carry the report`
  if (status === 403 || status === 404) {
    return `could not ${what} (HTTP ${status}): the github-token needs the \`${permission}\` permission, which pull requests from forks never get; the job summary and annotations carry the report`
  }
  return `could not ${what}: ${messageOf(error)}`
}

function truncate(text: string): string {
  return text.length <= MAX_TEXT
    ? text
    : `${text.slice(0, MAX_TEXT)}\n\n…(truncated; the job summary has the whole report)`
}
