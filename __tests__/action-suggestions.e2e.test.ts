import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatReference } from '../src/reference/reference.js'
import { CacheService } from './harness/cache-service.js'
import { FakeGitHub } from './harness/fake-github.js'
import { ImagePusher } from './harness/images.js'
import { TestRegistry } from './harness/registry.js'
import { ActionRunner } from './helpers/action-runner.js'
import { fixed } from './helpers/drift-world.js'
import { discoverDirectory } from './helpers/references.js'
import { on } from './helpers/trigger.js'

/** A file's lines as GitHub's "Commit suggestion" leaves them: the commented lines replaced by the block's. */
function applySuggestion(
  text: string,
  comment: { body: string; line: number | null; start_line: number | null }
) {
  const body = comment.body.split('\n')
  const open = body.findIndex(line => /^`{3,}suggestion$/.test(line))
  const fence = body[open].replace('suggestion', '')
  const close = body.indexOf(fence, open + 1)
  const lines = text.split('\n')
  const last = comment.line ?? 0
  const first = (comment.start_line ?? last) - 1
  lines.splice(first, last - first, ...body.slice(open + 1, close))
  return lines.join('\n')
}

/** A `patch` as GitHub's pull-request files API shows it: one hunk of added lines, the whole file. */
function addedFile(text: string): string {
  const lines = text.replace(/\n$/, '').split('\n')
  return [`@@ -0,0 +1,${lines.length} @@`, ...lines.map(l => `+${l}`)].join('\n')
}

describe('pins suggested on a drifted pull request', () => {
  const registry = new TestRegistry()
  const cache = new CacheService()
  const api = new FakeGitHub()
  let workspace = ''
  let runner: ActionRunner
  let host = ''
  const known: Record<string, string> = {}
  const rebuilt: Record<string, string> = {}
  const files: Record<string, string> = {}

  const push = async (repository: string, tag: string, env: string[]) =>
    (await new ImagePusher(registry).pushImage(repository, fixed({ env }), { tag })).digest

  beforeAll(async () => {
    await Promise.all([registry.start(), cache.start(), api.start()])
    host = registry.host
    known.python = await push('library/python', '3.12-slim', ['PYTHON_VERSION=3.12.2'])
    known.redis = await push('library/redis', '7', ['REDIS_VERSION=7.2.4'])
    known.web = await push('acme/web', '1.0', ['WEB=1.0.0'])
    workspace = mkdtempSync(join(tmpdir(), 'bid-suggest-'))
    Object.assign(files, {
      // the ARG stays: the pin is written through it
      Dockerfile: `ARG PY=3.12\nFROM ${host}/library/python:\${PY}-slim AS app\nRUN pip install flask\n`,
      'compose.yaml': `services:\n  cache:\n    image: "${host}/library/redis:7"   # sessions\n`,
      'deploy/kustomization.yaml': `resources:\n  - web.yaml\nimages:\n  - name: web\n    newName: ${host}/acme/web\n    newTag: "1.0"\n`,
      'deploy/web.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: web\n'
    })
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(workspace, path, '..'), { recursive: true })
      writeFileSync(join(workspace, path), text)
    }
    runner = new ActionRunner(workspace, { ...cache.env, GITHUB_API_URL: api.url })
    // the default branch records what it builds
    expect((await runner.runJob({}, {}, on.push())).main.status).toBe(0)
    // upstream rebuilds every tag
    await push('library/python', '3.12-slim', ['PYTHON_VERSION=3.12.3'])
    await push('library/redis', '7', ['REDIS_VERSION=7.2.5'])
    rebuilt.web = await push('acme/web', '1.0', ['WEB=1.0.1'])
    // the pull request touches the Dockerfile and the kustomization, not the Compose file
    api.pullFiles = [
      { filename: 'Dockerfile', patch: addedFile(files.Dockerfile) },
      {
        filename: 'deploy/kustomization.yaml',
        patch: addedFile(files['deploy/kustomization.yaml'])
      },
      { filename: 'README.md' }
    ]
  })
  afterAll(async () => {
    runner.dispose()
    rmSync(workspace, { recursive: true, force: true })
    await Promise.all([registry.stop(), cache.stop(), api.stop()])
  })

  it('posts one review with a suggestion per drifted line of the diff, each committing the known-good digest', async () => {
    const job = await runner.runJob({}, {}, on.pullRequest(7))
    expect(job.main.status).toBe(1)
    expect(api.reviews).toHaveLength(1)
    expect(api.reviews[0]).toMatchObject({ event: 'COMMENT', commit_id: 'b'.repeat(40) })
    expect(api.reviewComments.map(c => [c.path, c.line])).toEqual([
      ['Dockerfile', 2],
      ['deploy/kustomization.yaml', 6]
    ])
    const [dockerfile, kustomization] = api.reviewComments
    expect(dockerfile.body).toContain(
      `\`\`\`suggestion\nFROM ${host}/library/python:\${PY}-slim@${known.python} AS app\n\`\`\``
    )
    // a Kustomize entry takes the digest on a line of its own, beside its tag
    expect(kustomization.body).toContain(
      `\`\`\`suggestion\n    newTag: "1.0"\n    digest: ${known.web}\n\`\`\``
    )

    // each suggestion committed: the scanner reads the same references, pinned to the known-good digests
    const committed = mkdtempSync(join(tmpdir(), 'bid-committed-'))
    try {
      cpSync(workspace, committed, { recursive: true })
      for (const comment of api.reviewComments) {
        const path = join(committed, comment.path)
        writeFileSync(path, applySuggestion(readFileSync(path, 'utf8'), comment))
      }
      const found = await discoverDirectory(committed)
      expect(found.errors).toEqual([])
      const read = found.references.map(r => [r.file, r.line, formatReference(r.image!)])
      expect(read.sort()).toEqual([
        ['Dockerfile', 2, `${host}/library/python:3.12-slim@${known.python}`],
        ['compose.yaml', 3, `${host}/library/redis:7`],
        ['deploy/kustomization.yaml', 7, `${host}/acme/web:1.0@${known.web}`]
      ])
    } finally {
      rmSync(committed, { recursive: true, force: true })
    }

    // the Compose line is outside the diff: its pin is in the summary, in its own form
    expect(job.main.summary).toContain(
      `image: "${host}/library/redis:7@${known.redis}"   # sessions`
    )
  })

  it('edits its suggestions on the next run rather than adding more, and leaves a resolved thread alone', async () => {
    const [dockerfile, kustomization] = api.reviewComments
    const before = dockerfile.body
    await push('library/python', '3.12-slim', ['PYTHON_VERSION=3.12.4'])
    api.requests.length = 0
    expect((await runner.runJob({}, {}, on.pullRequest(7))).main.status).toBe(1)
    expect(api.reviews).toHaveLength(1)
    expect(api.reviewComments).toHaveLength(2)
    // what changed is said anew; what to commit is still the known-good digest
    expect(dockerfile.body).not.toBe(before)
    expect(dockerfile.body).toContain('3.12.4')
    expect(dockerfile.body).toContain(`-slim@${known.python} AS app`)
    const patched = (id: number) =>
      api.requests.filter(r => r.method === 'PATCH' && r.path.endsWith(`/pulls/comments/${id}`))
    expect(patched(dockerfile.id)).toHaveLength(1)
    // nothing changed for the kustomization's line: nothing written
    expect(patched(kustomization.id)).toHaveLength(0)

    api.resolved.add(dockerfile.id)
    const resolvedBody = dockerfile.body
    await push('library/python', '3.12-slim', ['PYTHON_VERSION=3.12.5'])
    api.requests.length = 0
    await runner.runJob({}, {}, on.pullRequest(7))
    expect(patched(dockerfile.id)).toHaveLength(0)
    expect(dockerfile.body).toBe(resolvedBody)
    expect(api.reviews).toHaveLength(1)
  })

  it("says a suggestion's line no longer drifts once the team pinned it, and keeps watching the pin", async () => {
    const kustomization = api.reviewComments[1]
    const path = join(workspace, 'deploy/kustomization.yaml')
    const written = readFileSync(path, 'utf8')
    try {
      writeFileSync(
        path,
        written.replace('newTag: "1.0"', `newTag: "1.0"\n    digest: ${known.web}`)
      )
      const job = await runner.runJob({}, {}, on.pullRequest(7))
      expect(kustomization.body).toMatch(/no longer drifts/)
      expect(kustomization.body).not.toContain('```suggestion')
      // the pin keeps being watched: what taking its tag's new image would change, and the bump
      expect(job.main.summary).toContain('### Pins whose tag moved on')
      expect(job.main.summary).toContain(
        `its tag now points to \`${rebuilt.web}\`, which changes: 1 other config change`
      )
      expect(job.main.summary).toContain(`\`\`\`yaml\ndigest: ${rebuilt.web}\n\`\`\``)
      const stale = job.main.commands.find(
        c => c.command === 'notice' && c.properties.file === 'deploy/kustomization.yaml'
      )
      expect(stale?.properties.title).toMatch(/is pinned to a digest its tag has moved on from$/)
      expect(stale?.message).toContain(`To take it once checked: digest: ${rebuilt.web}`)
    } finally {
      writeFileSync(path, written)
    }
  })

  it("degrades to the summary and one warning on a fork's read-only token", async () => {
    api.reviewComments.length = 0
    api.reviews.length = 0
    api.denyComments = true
    try {
      const job = await runner.runJob({}, {}, on.pullRequest(8, { fork: true }))
      expect(job.main.status).toBe(1)
      expect(api.reviews).toHaveLength(0)
      expect(job.main.commands.filter(c => c.command === 'warning').map(w => w.message)).toEqual([
        'could not comment on the pull request or suggest pins as review comments (HTTP 403): the github-token needs the `pull-requests: write` permission, which pull requests from forks never get; the job summary and annotations carry the report'
      ])
      expect(job.main.summary).toContain(`python:\${PY}-slim@${known.python} AS app`)
    } finally {
      api.denyComments = false
    }
  })

  it('posts no suggestion with suggest: off', async () => {
    api.requests.length = 0
    await runner.runJob({ suggest: 'off' }, {}, on.pullRequest(7))
    expect(api.requests.some(r => r.path.includes('/pulls/'))).toBe(false)
  })

  it('write-pins rewrites the files for a later commit step, lists them and shows the diff', async () => {
    try {
      const job = await runner.runJob({ 'write-pins': 'baseline' }, {}, on.pullRequest(7))
      expect(job.main.outputs['pinned-files'].split('\n').sort()).toEqual([
        'Dockerfile',
        'compose.yaml',
        'deploy/kustomization.yaml'
      ])
      // the known-good digests, each in its file's own form
      expect(readFileSync(join(workspace, 'compose.yaml'), 'utf8')).toBe(
        files['compose.yaml'].replace('redis:7"', `redis:7@${known.redis}"`)
      )
      expect(job.main.summary).toContain('### Pinned for the commit step')
      expect(job.main.summary).toContain(`+    digest: ${known.web}`)
    } finally {
      for (const [path, text] of Object.entries(files)) writeFileSync(join(workspace, path), text)
    }
  })

  it("posts no suggestion where the head's line differs from what the run read, and a new one for an outdated one", async () => {
    api.reviewComments.length = 0
    api.reviews.length = 0
    // the base branch changed the Dockerfile above the line: the head's line 2 is another line
    const head = files.Dockerfile.replace('ARG PY=3.12\n', 'ARG PY=3.12\nARG EXTRA=1\n')
    api.pullFiles = [
      { filename: 'Dockerfile', patch: addedFile(head) },
      {
        filename: 'deploy/kustomization.yaml',
        patch: addedFile(files['deploy/kustomization.yaml'])
      }
    ]
    try {
      await runner.runJob({}, {}, on.pullRequest(7))
      expect(api.reviewComments.map(c => c.path)).toEqual(['deploy/kustomization.yaml'])
      // GitHub marks a comment outdated once its line changed: it is left, and posted anew
      const outdated = api.reviewComments[0]
      Object.assign(outdated, { line: null })
      const body = outdated.body
      await runner.runJob({}, {}, on.pullRequest(7))
      expect(outdated.body).toBe(body)
      expect(api.reviewComments.map(c => [c.path, c.line])).toEqual([
        ['deploy/kustomization.yaml', null],
        ['deploy/kustomization.yaml', 6]
      ])
    } finally {
      api.pullFiles = [
        { filename: 'Dockerfile', patch: addedFile(files.Dockerfile) },
        {
          filename: 'deploy/kustomization.yaml',
          patch: addedFile(files['deploy/kustomization.yaml'])
        }
      ]
    }
  })
})
