import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CacheService } from './harness/cache-service.js'
import { FakeGitHub } from './harness/fake-github.js'
import { ImagePusher, type ImageSpec } from './harness/images.js'
import { debianRelease, dpkgStatus, tarLayer } from './harness/layers.js'
import { TestRegistry } from './harness/registry.js'
import { ActionRunner } from './helpers/action-runner.js'
import { on } from './helpers/trigger.js'
import { NODES } from './helpers/run.js'

/** What python:3.12-slim's config says before and after upstream rebuilt it (the incident this tool exists for). */
const bullseye: ImageSpec = {
  created: '2024-03-01T00:00:00Z',
  env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'LANG=C.UTF-8', 'PYTHON_VERSION=3.12.2'],
  history: [
    "/bin/sh -c #(nop) ADD file:4b1a in / # debian.sh --arch 'amd64' out/ 'bullseye' '@1709510400'",
    'ENV PYTHON_VERSION=3.12.2'
  ],
  layers: ['python-3.12.2']
}
const bookworm: ImageSpec = {
  created: '2024-04-10T00:00:00Z',
  env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'LANG=C.UTF-8', 'PYTHON_VERSION=3.12.3'],
  history: [
    "/bin/sh -c #(nop) ADD file:9c2e in / # debian.sh --arch 'amd64' out/ 'bookworm' '@1712707200'",
    'ENV PYTHON_VERSION=3.12.3'
  ],
  layers: ['python-3.12.3', 'extra']
}

describe.each(NODES)('reporting a drift under %s', (_, node) => {
  const registry = new TestRegistry({ auth: 'token' })
  const cache = new CacheService()
  const api = new FakeGitHub()
  let workspace = ''
  let runner: ActionRunner
  let oldDigest = ''

  beforeAll(async () => {
    await Promise.all([registry.start(), cache.start(), api.start()])
    // real layers: a root file system with the package database that tells what vanished
    if (typeof bullseye.layers![0] === 'string') {
      const asTar = (layers: ImageSpec['layers']) =>
        Promise.all(layers!.map(l => tarLayer({ [`opt/${String(l)}`]: String(l) })))
      bullseye.layers = [
        await tarLayer({
          'etc/os-release': debianRelease('11', 'bullseye'),
          'var/lib/dpkg/status': dpkgStatus({
            libc6: '2.31-13+deb11u7',
            'libssl1.1': '1.1.1w-0+deb11u1'
          })
        }),
        ...(await asTar(bullseye.layers))
      ]
      bookworm.layers = [
        await tarLayer({
          'etc/os-release': debianRelease('12', 'bookworm'),
          'var/lib/dpkg/status': dpkgStatus({
            libc6: '2.36-9+deb12u3',
            libssl3: '3.0.11-1~deb12u2'
          })
        }),
        ...(await asTar(bookworm.layers))
      ]
    }
    oldDigest = (
      await new ImagePusher(registry).pushImage('library/python', bullseye, { tag: '3.12-slim' })
    ).digest
    workspace = mkdtempSync(join(tmpdir(), 'bid-report-'))
    writeFileSync(
      join(workspace, 'Dockerfile'),
      `FROM ${registry.host}/library/python:3.12-slim AS app\nRUN apt-get install -y libssl1.1 && pip install flask\n`
    )
    runner = new ActionRunner(workspace, { ...cache.env, GITHUB_API_URL: api.url }, node)
  })
  afterAll(async () => {
    runner.dispose()
    await Promise.all([registry.stop(), cache.stop(), api.stop()])
    rmSync(workspace, { recursive: true, force: true })
  })

  it('states bullseye → bookworm, the version change and the pin line in the annotation, summary, PR comment and outputs', async () => {
    // the default branch records; pull requests compare with it
    const first = await runner.runJob()
    expect(first.main.status).toBe(0)
    expect(api.requests.filter(r => r.method !== 'GET')).toEqual([]) // no drift, no comment yet

    await new ImagePusher(registry).pushImage('library/python', bookworm, { tag: '3.12-slim' })
    const job = await runner.runJob({}, {}, on.pullRequest(7))
    expect(job.main.status).toBe(1)
    const pin = `FROM ${registry.host}/library/python:3.12-slim@${oldDigest} AS app`

    const annotation = job.main.commands.find(
      c => c.command === 'error' && c.properties.file === 'Dockerfile'
    )!
    expect(annotation.properties.line).toBe('1')
    expect(annotation.message).toContain(
      'Debian bullseye → bookworm; 1 package removed (libssl1.1); PYTHON_VERSION 3.12.2 → 3.12.3'
    )
    expect(annotation.message).toContain(`Keep the known-good image: ${pin}`)
    expect(
      job.main.commands.find(
        c =>
          c.command === 'error' && c.properties.file === 'Dockerfile' && c.properties.line === '2'
      )
    ).toMatchObject({
      properties: { title: `libssl1.1 was removed from ${registry.host}/library/python:3.12-slim` },
      message: `libssl1.1 is not in ${registry.host}/library/python:3.12-slim any more (Debian bookworm); this line installs it`
    })

    for (const text of [job.main.summary, job.main.outputs.report, api.comments[0]?.body ?? '']) {
      expect(text).toContain(
        '**Debian bullseye → bookworm; 1 package removed (libssl1.1); PYTHON_VERSION 3.12.2 → 3.12.3; layers 2 → 3'
      )
      expect(text).toContain('the base OS release changed: the most severe kind of drift')
      expect(text).toContain('| base OS | Debian bullseye | Debian bookworm |')
      expect(text).toContain('`PYTHON_VERSION 3.12.2 → 3.12.3`')
      expect(text).toContain(`\`\`\`dockerfile\n${pin}\n\`\`\``)
      expect(text).toContain('| `libssl1.1` | `1.1.1w-0+deb11u1` | **removed** |')
      expect(text).toContain('| `libc6` | `2.31-13+deb11u7` | `2.36-9+deb12u3` |')
      expect(text).toContain(
        `- \`Dockerfile:2\`: libssl1.1 is not in ${registry.host}/library/python:3.12-slim any more (Debian bookworm); this line installs it`
      )
    }
    const [change] = JSON.parse(job.main.outputs.changes)
    expect(change).toMatchObject({
      file: 'Dockerfile',
      line: 1,
      status: 'drifted',
      previous: oldDigest
    })
    expect(change.explanation).toMatchObject({
      severity: 'os',
      os: { before: 'Debian bullseye', after: 'Debian bookworm' },
      packages: {
        from: 'dpkg',
        diff: {
          removed: [{ name: 'libssl1.1', version: '1.1.1w-0+deb11u1', type: 'deb' }],
          added: [{ name: 'libssl3', version: '3.0.11-1~deb12u2', type: 'deb' }],
          changed: [
            {
              name: 'libc6',
              type: 'deb',
              before: '2.31-13+deb11u7',
              after: '2.36-9+deb12u3',
              major: false
            }
          ]
        }
      }
    })
    expect(change.packageUses).toEqual([
      { file: 'Dockerfile', line: 2, column: 1, package: 'libssl1.1', does: 'installs' }
    ])
    expect(change.explanation.env).toEqual([
      { name: 'PYTHON_VERSION', before: '3.12.2', after: '3.12.3' }
    ])

    expect(api.requests.filter(r => r.method === 'POST').map(r => r.path)).toEqual([
      '/repos/acme/shop/issues/7/comments'
    ])
    expect(api.comments).toHaveLength(1)
    expect(api.comments[0].body).toMatch(
      /^<!-- base-image-drift: ci\/drift -->\n## Base image drift: 1 reference changed under its tag/
    )
  })

  it('updates the same comment on a later run, and marks it resolved once the drift is gone', async () => {
    const again = await runner.runJob({}, {}, on.pullRequest(7))
    expect(again.main.status).toBe(1)
    expect(api.comments).toHaveLength(1)
    expect(api.requests.filter(r => r.path.includes('/issues/')).at(-1)).toMatchObject({
      method: 'PATCH',
      path: `/repos/acme/shop/issues/comments/${api.comments[0].id}`
    })

    // accepted where it counts: a dispatch on the default branch, which the pull request reads
    expect((await runner.runJob({ accept: 'true' }, {}, on.dispatch())).main.status).toBe(0)
    const clean = await runner.runJob({}, {}, on.pullRequest(7))
    expect(clean.main.status).toBe(0)
    expect(api.comments).toHaveLength(1)
    expect(api.comments[0].body).toContain('## Base image drift resolved')
  })

  it('a run that could check no image fails and says so in the comment, never "resolved"', async () => {
    const dockerfile = join(workspace, 'Dockerfile')
    const written = readFileSync(dockerfile, 'utf8')
    try {
      // a registry nothing listens on
      writeFileSync(dockerfile, written.replace(registry.host, '127.0.0.1:9'))
      const blind = await runner.runJob({ timeout: '2' }, {}, on.pullRequest(7))
      expect(blind.main.status).toBe(1)
      expect(api.comments).toHaveLength(1)
      expect(api.comments[0].body).toMatch(
        /^<!-- base-image-drift: ci\/drift -->\n## Could not check 1 of 1 image: 127\.0\.0\.1:9 unreachable\n/
      )
      expect(api.comments[0].body).not.toContain('resolved')
    } finally {
      writeFileSync(dockerfile, written)
    }
  })

  it('degrades to one warning when the token may not comment, keeping summary and annotations', async () => {
    api.comments.length = 0
    api.denyComments = true
    try {
      await new ImagePusher(registry).pushImage(
        'library/python',
        { ...bookworm, env: [...bookworm.env!, 'REBUILT=1'] },
        { tag: '3.12-slim' }
      )
      const job = await runner.runJob({}, {}, on.pullRequest(7))
      expect(job.main.status).toBe(1)
      const warnings = job.main.commands.filter(c => c.command === 'warning')
      expect(warnings.map(w => w.message)).toEqual([
        'could not comment on the pull request (HTTP 403): the github-token needs the `pull-requests: write` permission, which pull requests from forks never get; the job summary and annotations carry the report'
      ])
      expect(job.main.summary).toContain('+REBUILT=1')
      expect(
        job.main.commands.some(c => c.command === 'error' && c.properties.file === 'Dockerfile')
      ).toBe(true)
    } finally {
      api.denyComments = false
    }
  })
})

describe('many drifts at once', () => {
  const registry = new TestRegistry()
  const cache = new CacheService()
  const api = new FakeGitHub()
  let workspace = ''
  let runner: ActionRunner
  const tags = Array.from({ length: 120 }, (_, i) => `v${i}`)

  beforeAll(async () => {
    await Promise.all([registry.start(), cache.start(), api.start()])
    const pusher = new ImagePusher(registry)
    const image = await pusher.pushImage('team/base', { env: ['GEN=1'] })
    for (const tag of tags) await pusher.tag('team/base', tag, image.digest)
    workspace = mkdtempSync(join(tmpdir(), 'bid-many-'))
    const from = (list: string[]) =>
      list.map(tag => `FROM ${registry.host}/team/base:${tag}\n`).join('')
    writeFileSync(join(workspace, 'thirty.Dockerfile'), from(tags.slice(0, 30)))
    writeFileSync(join(workspace, 'ninety.Dockerfile'), from(tags.slice(30)))
    runner = new ActionRunner(workspace, { ...cache.env, GITHUB_API_URL: api.url })
    // one baseline for every run here, whichever files each scans
    expect((await runner.runJob({ 'cache-key': 'many-' })).main.status).toBe(0)
    const moved = await pusher.pushImage('team/base', { env: ['GEN=2'] })
    for (const tag of tags) await pusher.tag('team/base', tag, moved.digest)
  }, 120_000)
  afterAll(async () => {
    runner.dispose()
    await Promise.all([registry.stop(), cache.stop(), api.stop()])
    rmSync(workspace, { recursive: true, force: true })
  })

  it('30 drifted references: 10 error annotations; the summary lists all 30 and says 20 were not annotated', async () => {
    const job = await runner.runJob({ files: 'thirty.Dockerfile', 'cache-key': 'many-' })
    expect(job.main.status).toBe(1)
    expect(job.main.commands.filter(c => c.command === 'error')).toHaveLength(10)
    expect(job.main.summary.match(/\| \*\*drifted\*\* \|/g)).toHaveLength(30)
    expect(job.main.summary).toContain(
      '20 more findings were not annotated (GitHub shows at most 10 of each type per step).'
    )
  })

  it('sends a check run with 120 annotations in 3 requests', async () => {
    api.requests.length = 0
    const job = await runner.runJob({ 'check-name': 'base images', 'cache-key': 'many-' })
    expect(job.main.status).toBe(1)
    const sent = api.requests.filter(r => r.path.includes('/check-runs'))
    expect(sent.map(r => r.method)).toEqual(['POST', 'PATCH', 'PATCH'])
    const counts = sent.map(
      r => ((r.body!.output as { annotations: unknown[] }).annotations ?? []).length
    )
    expect(counts).toEqual([50, 50, 20])
    expect(sent[0].body).toMatchObject({
      name: 'base images',
      head_sha: 'a'.repeat(40),
      status: 'completed',
      conclusion: 'failure'
    })
  })

  it('degrades to one warning naming checks: write when the check run is refused', async () => {
    api.denyChecks = true
    try {
      const job = await runner.runJob({
        files: 'thirty.Dockerfile',
        'check-name': 'base images',
        'cache-key': 'many-'
      })
      expect(job.main.status).toBe(1)
      expect(job.main.commands.filter(c => c.command === 'warning').map(c => c.message)).toEqual([
        'could not create the check run "base images" (HTTP 403): the github-token needs the `checks: write` permission, which pull requests from forks never get; the job summary and annotations carry the report'
      ])
    } finally {
      api.denyChecks = false
    }
  })
})
