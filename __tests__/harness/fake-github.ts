import { createServer, type Server } from 'node:http'
import { Pauses } from './pauses.js'
import { close, listen } from './ports.js'

export interface RecordedRequest {
  method: string
  path: string
  body: Record<string, unknown> | null
}

/**
 * A local stand-in for the GitHub REST API (GITHUB_API_URL) that records every request:
 * issue comments, check runs, and pull-request reviews with their diff and threads, with
 * switches for a missing permission.
 */
export class FakeGitHub {
  readonly requests: RecordedRequest[] = []
  readonly comments: { id: number; body: string; user: { login: string } }[] = []
  /** Answer 403 to creating comments and reviews (a fork pull request's read-only token). */
  denyComments = false
  /** The pull request's files, with the `patch` GitHub shows of each. */
  pullFiles: { filename: string; patch?: string }[] = []
  /** Review comments on the pull request: each one a thread of its own. */
  readonly reviewComments: {
    id: number
    body: string
    path: string
    /** null once outdated: its line changed since it was posted. */
    line: number | null
    start_line: number | null
    user: { login: string }
  }[] = []
  readonly reviews: { id: number; body: string; event: string; commit_id?: string }[] = []
  /** Review comments whose threads someone resolved (GraphQL's `isResolved`). */
  readonly resolved = new Set<number>()
  /** Answer 403 to creating check runs (a token without `checks: write`). */
  denyChecks = false
  /** What `GET /repos/{owner}/{repo}` says the default branch is; null answers 404. */
  defaultBranch: string | null = 'main'
  /**
   * The successful runs the Actions API lists, newest first, with the names of their steps;
   * null answers 403 (a token without `actions: read`).
   */
  runs:
    { workflow: string; branch: string; id: number; created_at: string; steps: string[] }[] | null =
    []
  /** Hold every answer this long (an API that does not answer); cut short by stop(). */
  stallMs = 0
  private readonly stalls = new Pauses()
  private server: Server | null = null
  private nextId = 1000
  port = 0

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      let raw = ''
      for await (const chunk of req) raw += chunk
      const [path, search = ''] = (req.url ?? '').split('?')
      const query = new URLSearchParams(search)
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : null
      this.requests.push({ method: req.method ?? '', path, body })
      if (this.stallMs > 0) await this.stalls.wait(this.stallMs)
      if (res.destroyed) return
      const json = (status: number, value: unknown) =>
        res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(value))
      let match: RegExpExecArray | null
      if (req.method === 'GET' && /^\/repos\/[^/]+\/[^/]+$/.test(path)) {
        if (this.defaultBranch === null) json(404, { message: 'Not Found' })
        else json(200, { full_name: path.slice(7), default_branch: this.defaultBranch })
      } else if (
        req.method === 'GET' &&
        (match = /^\/repos\/[^/]+\/[^/]+\/actions\/workflows\/([^/]+)\/runs$/.exec(path))
      ) {
        if (this.runs === null)
          return json(403, { message: 'Resource not accessible by integration' })
        const workflow = decodeURIComponent(match[1])
        const runs = this.runs.filter(
          r => r.workflow === workflow && r.branch === query.get('branch')
        )
        json(200, {
          total_count: runs.length,
          workflow_runs: runs
            .slice(0, Number(query.get('per_page') ?? 30))
            .map(r => ({ id: r.id, created_at: r.created_at, head_branch: r.branch }))
        })
      } else if (
        req.method === 'GET' &&
        (match = /^\/repos\/[^/]+\/[^/]+\/actions\/runs\/(\d+)\/jobs$/.exec(path))
      ) {
        const run = this.runs?.find(r => r.id === Number(match![1]))
        if (!run) return json(404, { message: 'Not Found' })
        json(200, {
          total_count: 1,
          jobs: [{ id: run.id * 10, steps: run.steps.map((name, i) => ({ name, number: i + 1 })) }]
        })
      } else if (req.method === 'GET' && path === '/user') {
        // an installation token (GITHUB_TOKEN) cannot read the authenticated user
        json(403, { message: 'Resource not accessible by integration' })
      } else if (
        req.method === 'GET' &&
        /^\/repos\/[^/]+\/[^/]+\/issues\/\d+\/comments$/.test(path)
      ) {
        json(200, this.comments)
      } else if (
        req.method === 'POST' &&
        /^\/repos\/[^/]+\/[^/]+\/issues\/\d+\/comments$/.test(path)
      ) {
        if (this.denyComments)
          return json(403, { message: 'Resource not accessible by integration' })
        // the workflow's GITHUB_TOKEN comments as the Actions bot
        const comment = {
          id: this.nextId++,
          body: String(body?.body),
          user: { login: 'github-actions[bot]' }
        }
        this.comments.push(comment)
        json(201, comment)
      } else if (
        req.method === 'PATCH' &&
        (match = /^\/repos\/[^/]+\/[^/]+\/issues\/comments\/(\d+)$/.exec(path))
      ) {
        if (this.denyComments)
          return json(403, { message: 'Resource not accessible by integration' })
        const comment = this.comments.find(c => c.id === Number(match![1]))
        if (!comment) return json(404, { message: 'Not Found' })
        comment.body = String(body?.body)
        json(200, comment)
      } else if (req.method === 'GET' && /^\/repos\/[^/]+\/[^/]+\/pulls\/\d+\/files$/.test(path)) {
        json(200, this.pullFiles)
      } else if (
        req.method === 'GET' &&
        /^\/repos\/[^/]+\/[^/]+\/pulls\/\d+\/comments$/.test(path)
      ) {
        json(200, this.reviewComments)
      } else if (
        req.method === 'POST' &&
        /^\/repos\/[^/]+\/[^/]+\/pulls\/\d+\/reviews$/.test(path)
      ) {
        if (this.denyComments)
          return json(403, { message: 'Resource not accessible by integration' })
        const comments = (body?.comments ?? []) as Record<string, unknown>[]
        // GitHub takes a comment only on a line inside one of the diff's hunks
        const outside = comments.find(c => !this.inDiff(String(c.path), Number(c.line)))
        if (outside)
          return json(422, {
            message: 'Unprocessable Entity',
            errors: ['Line could not be resolved']
          })
        const review = {
          id: this.nextId++,
          body: String(body?.body ?? ''),
          event: String(body?.event),
          ...(body?.commit_id ? { commit_id: String(body.commit_id) } : {})
        }
        this.reviews.push(review)
        for (const c of comments)
          this.reviewComments.push({
            id: this.nextId++,
            body: String(c.body),
            path: String(c.path),
            line: Number(c.line),
            start_line: typeof c.start_line === 'number' ? c.start_line : null,
            user: { login: 'github-actions[bot]' }
          })
        json(200, review)
      } else if (
        req.method === 'PATCH' &&
        (match = /^\/repos\/[^/]+\/[^/]+\/pulls\/comments\/(\d+)$/.exec(path))
      ) {
        if (this.denyComments)
          return json(403, { message: 'Resource not accessible by integration' })
        const comment = this.reviewComments.find(c => c.id === Number(match![1]))
        if (!comment) return json(404, { message: 'Not Found' })
        comment.body = String(body?.body)
        json(200, comment)
      } else if (req.method === 'POST' && path === '/graphql') {
        json(200, {
          data: {
            repository: {
              pullRequest: {
                reviewThreads: {
                  nodes: this.reviewComments.map(c => ({
                    isResolved: this.resolved.has(c.id),
                    comments: { nodes: [{ databaseId: c.id }] }
                  })),
                  pageInfo: { hasNextPage: false, endCursor: null }
                }
              }
            }
          }
        })
      } else if (req.method === 'POST' && /^\/repos\/[^/]+\/[^/]+\/check-runs$/.test(path)) {
        if (this.denyChecks) return json(403, { message: 'Resource not accessible by integration' })
        json(201, { id: this.nextId++, ...body })
      } else if (req.method === 'PATCH' && /^\/repos\/[^/]+\/[^/]+\/check-runs\/\d+$/.test(path)) {
        json(200, { ...body })
      } else {
        json(404, { message: 'Not Found' })
      }
    })
    this.port = await listen(this.server)
    return this
  }

  /** Whether a line of the new file is inside a hunk of the file's patch (`@@ -a,b +c,d @@`: c to c+d-1). */
  private inDiff(file: string, line: number): boolean {
    const patch = this.pullFiles.find(f => f.filename === file)?.patch ?? ''
    for (const [, start, count] of patch.matchAll(/^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@/gm))
      if (line >= Number(start) && line < Number(start) + Number(count ?? 1)) return true
    return false
  }

  async stop(): Promise<void> {
    this.stalls.cancelAll()
    await close(this.server)
    this.server = null
  }
}
