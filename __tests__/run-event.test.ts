import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readRunEvent } from '../src/action/event.js'

/** The event payload is a file a workflow can shape: what it says is read, never assumed. */
describe('the run event', () => {
  let dir: string
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'bid-event-'))))
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  const eventWith = (payload: string, env: Record<string, string> = {}) => {
    const path = join(dir, 'event.json')
    writeFileSync(path, payload)
    return readRunEvent({
      GITHUB_EVENT_PATH: path,
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_REPOSITORY: 'acme/shop',
      GITHUB_SHA: 'a'.repeat(40),
      GITHUB_RUN_ID: '42',
      ...env
    })
  }

  it("names a pull request's number and head commit, the default branch and the run's page", () => {
    const event = eventWith(
      JSON.stringify({
        number: 7,
        pull_request: { number: 7, head: { sha: 'b'.repeat(40) } },
        repository: { default_branch: 'trunk' }
      }),
      { GITHUB_SERVER_URL: 'https://ghe.example.com' }
    )
    expect(event).toEqual({
      name: 'pull_request',
      repository: { owner: 'acme', repo: 'shop' },
      defaultBranch: 'trunk',
      pullRequest: { number: 7, headSha: 'b'.repeat(40) },
      sha: 'a'.repeat(40),
      runUrl: 'https://ghe.example.com/acme/shop/actions/runs/42'
    })
  })

  it.each([
    ['not JSON', '{"number": 7,'],
    ['a list', '[1, 2]'],
    [
      'a number that is text',
      '{"pull_request": {"number": "7"}, "repository": {"default_branch": 5}}'
    ],
    ['a pull request that is a list', '{"number": 7, "pull_request": [7]}']
  ])('a payload that is %s names no pull request and no default branch', (_, payload) => {
    const event = eventWith(payload)
    expect([event.pullRequest, event.defaultBranch]).toEqual([null, null])
    expect(event.repository).toEqual({ owner: 'acme', repo: 'shop' })
  })

  it('without a payload file or a repository, says so rather than guess', () => {
    const event = readRunEvent({ GITHUB_EVENT_NAME: 'push' })
    expect([event.repository, event.pullRequest, event.defaultBranch]).toEqual([null, null, null])
  })
})
