import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CacheService } from './harness/cache-service.js'
import { FakeGitHub } from './harness/fake-github.js'
import { FaultProxy } from './harness/fault-proxy.js'
import { ImagePusher } from './harness/images.js'
import { TestRegistry } from './harness/registry.js'
import { ActionRunner } from './helpers/action-runner.js'
import { on } from './helpers/trigger.js'
import { CLI, runNode } from './helpers/run.js'

const MARKER = '<!-- base-image-drift: ci/drift -->'

/** Markdown with code spans removed: what GitHub renders as Markdown rather than shows as code. */
function rendered(markdown: string): string {
  return (
    markdown
      .replace(/(`+)(?:(?!\1)[\s\S])*?\1/g, '')
      // the report's own folding and small print: tags it writes itself, around text of its own
      .replace(/<\/?(?:details|summary|sub)>/g, '')
  )
}

/** Cells per row of each table (consecutive `|` lines), counting only pipes that are not escaped. */
function tables(markdown: string): number[][] {
  const result: number[][] = []
  let current: number[] | null = null
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) {
      current = null
      continue
    }
    if (!current) result.push((current = []))
    current.push(line.replace(/\\\|/g, '').split('|').length - 2)
  }
  return result
}

/**
 * A pull request controls the files the action reads and the registries they name, and the
 * action posts what it finds back to the pull request. None of that may leak the job's
 * secrets, render as markup, or take over a comment that is not the action's own.
 */
describe('a hostile pull request, through the action', () => {
  const registry = new TestRegistry()
  const cache = new CacheService()
  const api = new FakeGitHub()
  let proxy: FaultProxy
  let workspace = ''
  let runner: ActionRunner

  beforeAll(async () => {
    await Promise.all([registry.start(), cache.start(), api.start()])
    proxy = await new FaultProxy(registry.url).start()
    await new ImagePusher(registry).pushImage('library/app', { env: ['A=1'] }, { tag: '1' })
    workspace = mkdtempSync(join(tmpdir(), 'bid-pr-'))
    runner = new ActionRunner(workspace, { ...cache.env, GITHUB_API_URL: api.url })
  })
  afterAll(async () => {
    runner.dispose()
    await proxy.stop()
    await Promise.all([registry.stop(), cache.stop(), api.stop()])
    rmSync(workspace, { recursive: true, force: true })
  })
  beforeEach(() => {
    api.comments.length = 0
    api.requests.length = 0
    proxy.reset()
    rmSync(workspace, { recursive: true, force: true })
    mkdirSync(workspace)
  })

  it('never sends or prints a secret-looking variable a Compose file interpolates', async () => {
    writeFileSync(
      join(workspace, 'compose.yaml'),
      `services:\n  web:\n    image: ${proxy.host}/library/app:\${DEPLOY_TOKEN}\n  ok:\n    image: ${proxy.host}/library/app:\${TAG}\n`
    )
    const job = await runner.runJob(
      // the pull request records its own baseline too, to show none of it reaches the cache
      { variables: '*', comment: 'always', 'save-baseline': 'always' },
      { DEPLOY_TOKEN: 'tok-8c1f-very-secret', TAG: '1' },
      on.pullRequest(9)
    )
    expect(job.main.status).toBe(0)
    const everything = [
      job.main.stdout,
      job.main.stderr,
      job.main.summary,
      JSON.stringify(job.main.outputs),
      ...api.comments.map(c => c.body),
      ...cache.savedKeys.map(key => cache.savedText(key))
    ].join('\n')
    expect(everything).not.toContain('tok-8c1f')
    expect(proxy.seen.map(r => r.path).join('\n')).not.toContain('tok-8c1f')
    expect(JSON.parse(job.main.outputs.images)).toMatchObject([
      {
        line: 3,
        status: 'error',
        error:
          '${DEPLOY_TOKEN} looks like a secret by its name, so it is never sent to a registry or printed'
      },
      { line: 5, status: 'new' }
    ])
  })

  it('uses only the variables the workflow passes, not the whole environment', async () => {
    writeFileSync(
      join(workspace, 'compose.yaml'),
      `services:\n  web:\n    image: ${proxy.host}/library/app:\${TAG}\n`
    )
    const withoutInput = await runner.runJob({}, { TAG: '1' }, on.pullRequest(9))
    expect(JSON.parse(withoutInput.main.outputs.images)[0].error).toBe(
      'variable TAG is not set and has no default'
    )
    const named = await runner.runJob({ variables: 'TAG' }, { TAG: '1' }, on.pullRequest(9))
    expect(JSON.parse(named.main.outputs.images)[0]).toMatchObject({
      image: `${proxy.host}/library/app:1`,
      error: null
    })
  })

  it('posts file names, lines and registry answers as inert text: no table break, HTML, mention or link', async () => {
    writeFileSync(
      join(workspace, 'a|b.Dockerfile'),
      `FROM \${NOPE}<img src=x onerror=alert(1)> @acme/security https://evil.example/\n`
    )
    writeFileSync(join(workspace, 'Dockerfile'), `FROM ${proxy.host}/library/evil:1\n`)
    const pusher = new ImagePusher(registry)
    await pusher.pushImage('library/evil', { env: ['V=1'] }, { tag: '1' })
    expect((await runner.runJob()).main.status).toBe(0)
    // the registry rebuilds the tag with a config written to attack the report
    const hostile = '<img src=x onerror=alert(1)> | @everyone [x](https://evil.example) `'
    await pusher.pushImage(
      'library/evil',
      { env: [`V=${hostile}`], labels: { [`l|${hostile}`]: hostile } },
      { tag: '1' }
    )
    // another pull request than the one that saved in its own scope above (save-baseline: always)
    const job = await runner.runJob({ comment: 'always' }, {}, on.pullRequest(10))
    expect(job.main.status).toBe(1)
    expect(api.comments[0].body).toContain('changed under its tag')
    for (const markdown of [job.main.summary, api.comments[0].body]) {
      // the findings table and the explanation's: every row as wide as its header
      expect(tables(markdown).map(rows => new Set(rows).size)).toEqual([1, 1])
      expect(tables(markdown)[0]).toHaveLength(4)
      const text = rendered(markdown)
      expect(text).not.toMatch(/(?<!\\)<[a-z/]/i)
      expect(text).not.toMatch(/@(?!&#8203;)\w/)
      expect(text).not.toMatch(/https?:\/\//)
      expect(text).not.toMatch(/(?<!\\)\]\(/)
    }
  })

  it('never edits a comment that carries the marker but was written by someone else', async () => {
    writeFileSync(join(workspace, 'Dockerfile'), `FROM ${proxy.host}/library/app:1\n`)
    api.comments.push({
      id: 1,
      body: `${MARKER}\nAll good, merge it.`,
      user: { login: 'mallory' }
    })
    const job = await runner.runJob({ comment: 'always' }, {}, on.pullRequest(9))
    expect(job.main.status).toBe(0)
    expect(api.requests.filter(r => r.method === 'PATCH')).toEqual([])
    expect(api.comments.map(c => [c.user.login, c.body.startsWith(MARKER)])).toEqual([
      ['mallory', true],
      ['github-actions[bot]', true]
    ])
    expect(api.comments[0].body).toBe(`${MARKER}\nAll good, merge it.`)
    // the action's own comment is the one it updates next time
    await runner.runJob({ comment: 'always' }, {}, on.pullRequest(9))
    expect(api.requests.filter(r => r.method === 'PATCH').map(r => r.path)).toEqual([
      `/repos/acme/shop/issues/comments/${api.comments[1].id}`
    ])
  })

  it('a GitHub API that never answers costs the timeout, not the job', async () => {
    writeFileSync(join(workspace, 'Dockerfile'), `FROM ${proxy.host}/library/app:1\n`)
    api.stallMs = 30_000
    try {
      const started = Date.now()
      const job = await runner.runJob({ comment: 'always', timeout: '1' }, {}, on.pullRequest(9))
      expect(job.main.status).toBe(0)
      expect(Date.now() - started).toBeLessThan(10_000)
      expect(job.main.commands.filter(c => c.command === 'warning').map(c => c.message)).toContain(
        'could not comment on the pull request: the GitHub API gave no answer within 1 s (input timeout); the job summary and annotations carry the report'
      )
    } finally {
      api.stallMs = 0
    }
  })

  it('the CLI reads no variable it was not given', async () => {
    writeFileSync(
      join(workspace, 'compose.yaml'),
      `services:\n  web:\n    image: ${proxy.host}/library/app:\${TAG}\n`
    )
    const scan = (...args: string[]) =>
      runNode(CLI, ['scan', '--json', ...args], {
        cwd: workspace,
        env: { PATH: process.env.PATH, TAG: '1', API_KEY: 'k-123' }
      })
    expect(JSON.parse((await scan()).stdout).references[0].error).toBe(
      'variable TAG is not set and has no default'
    )
    expect(JSON.parse((await scan('--var', 'TAG')).stdout).references[0].image).toBe(
      `${proxy.host}/library/app:1`
    )
    expect(JSON.parse((await scan('--var', 'TAG=2')).stdout).references[0].image).toBe(
      `${proxy.host}/library/app:2`
    )
    writeFileSync(
      join(workspace, 'compose.yaml'),
      `services:\n  web:\n    image: ${proxy.host}/library/app:\${API_KEY}\n`
    )
    const secret = await scan('--var', '*')
    expect(secret.stdout + secret.stderr).not.toContain('k-123')
    expect(JSON.parse(secret.stdout).references[0].error).toBe(
      '${API_KEY} looks like a secret by its name, so it is never sent to a registry or printed'
    )
  })
})
