import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { baselineKeyPrefix, keySafe, legacyKeyPrefix } from '../src/baseline/cache-key.js'
import { parsePlatforms } from '../src/config/values.js'
import { hostPlatform } from '../src/reference/platform.js'
import { DEFAULT_PATTERNS } from '../src/sources/index.js'
import type { CacheService } from './harness/cache-service.js'
import { FakeGitHub } from './harness/fake-github.js'
import { ImagePusher } from './harness/images.js'
import type { ActionRunner, JobResult, StepResult } from './helpers/action-runner.js'
import { fixed, inWorld, type World } from './helpers/drift-world.js'
import { NODES, pathWithoutZstd, ROOT } from './helpers/run.js'
import { on, type Trigger } from './helpers/trigger.js'

/**
 * Workflow layouts teams really have, through the bundled action and the cache service
 * emulator with GitHub's scopes: reusable workflows and their callers, a pull-request-only
 * workflow, maintenance branches, an upgrade from the key scheme of an earlier version, and
 * `accept` written the ways reviewers write it.
 */
const [, node] = NODES[NODES.length - 1]
const MAIN = 'refs/heads/main'

const scenario = (
  body: (world: World, runner: ActionRunner, cache: CacheService) => Promise<void>
) => inWorld(node, body)

const caller = (file: string, job = 'drift') => ({
  GITHUB_WORKFLOW_REF: `acme/shop/.github/workflows/${file}@refs/heads/main`,
  GITHUB_WORKFLOW: file.replace(/\.yml$/, ''),
  GITHUB_JOB: job
})
const messages = (step: StepResult, command: string) =>
  step.commands.filter(c => c.command === command)
const statusOf = (job: JobResult) =>
  Object.fromEntries(
    (JSON.parse(job.main.outputs.images) as { status: string; image: string }[]).map(f => [
      f.image.replace(/^[^/]+\//, ''),
      f.status
    ])
  )

function writeWorkflow(world: World, file: string, text: string): void {
  mkdirSync(join(world.workspace, '.github', 'workflows'), { recursive: true })
  writeFileSync(join(world.workspace, '.github', 'workflows', file), text)
}

describe('reusable workflows', () => {
  it('three callers of one reusable workflow compare with one baseline, and one acceptance reaches them all', () =>
    scenario(async (world, runner) => {
      writeWorkflow(
        world,
        'drift.yml',
        'on:\n  workflow_call:\n    inputs:\n      accept: { type: string, default: "" }\njobs:\n  check:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v5\n      - uses: base-image-drift/base-image-drift@v1\n        with:\n          accept: ${{ inputs.accept }}\n'
      )
      const calls = 'jobs:\n  images:\n    uses: ./.github/workflows/drift.yml\n'
      writeWorkflow(
        world,
        'main.yml',
        `on:\n  push:\n    branches: [main]\n  workflow_dispatch:\n${calls}`
      )
      writeWorkflow(world, 'pr.yml', `on: pull_request\n${calls}`)
      writeWorkflow(world, 'nightly.yml', `on:\n  schedule:\n    - cron: "0 3 * * *"\n${calls}`)
      // a called workflow's job runs with its caller's workflow ref and the caller's job id
      const recorded = await runner.runJob({}, caller('main.yml', 'images'))
      expect(recorded.post!.status).toBe(0)
      await world.movePython312()
      const pr = await runner.runJob({}, caller('pr.yml', 'images'), on.pullRequest(21))
      const nightly = await runner.runJob({}, caller('nightly.yml', 'images'), on.schedule())
      for (const job of [pr, nightly]) {
        expect(job.main.status).toBe(1)
        expect(statusOf(job)['library/python:3.12-slim']).toBe('drifted')
      }
      const accepted = await runner.runJob(
        { accept: 'python:3.12-slim' },
        caller('main.yml', 'images'),
        on.dispatch()
      )
      expect(accepted.post!.status).toBe(0)
      for (const [file, trigger] of [
        ['pr.yml', on.pullRequest(21)],
        ['nightly.yml', on.schedule()],
        ['main.yml', on.push()]
      ] as [string, Trigger][]) {
        const next = await runner.runJob({}, caller(file, 'images'), trigger)
        expect([file, next.main.status]).toEqual([file, 0])
      }
    }))
})

describe('a run that finds no baseline says why', () => {
  it('a pull-request-only workflow is told the trigger to add, on its workflow file; then that main has not recorded yet', () =>
    scenario(async (_world, runner) => {
      const api = await new FakeGitHub().start()
      try {
        const world = _world
        writeWorkflow(
          world,
          'pr.yml',
          'on: [pull_request]\njobs:\n  drift:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: base-image-drift/base-image-drift@v1\n'
        )
        const github = { ...caller('pr.yml'), GITHUB_API_URL: api.url }
        const pr = await runner.runJob({}, github, on.pullRequest(4))
        expect([pr.main.status, pr.main.outputs.drifted]).toEqual([0, 'false'])
        const [warning] = messages(pr.main, 'warning')
        expect(warning.properties).toEqual({ file: '.github/workflows/pr.yml' })
        expect(warning.message).toBe(
          'no baseline: no workflow records one, since none in .github/workflows runs this step on pushes to main or on a schedule. Add `push: branches: [main]` to the `on:` of .github/workflows/pr.yml (or run this step in a workflow that has it), and the next push to main records the baseline that pull requests compare with; 2 images not compared; set on-missing-baseline: fail to fail instead'
        )
        expect(pr.main.summary).toContain(
          '> [!WARNING]\n> No baseline: no workflow records one, since none in .github/workflows runs this step on pushes to main or on a schedule.'
        )

        writeWorkflow(
          world,
          'pr.yml',
          'on:\n  pull_request:\n  push:\n    branches: [main]\njobs:\n  drift:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: base-image-drift/base-image-drift@v1\n'
        )
        const before = await runner.runJob({}, github, on.pullRequest(4))
        expect(messages(before.main, 'warning')[0].message).toMatch(
          /^no baseline yet: \.github\/workflows\/pr\.yml records one, but has not yet succeeded on main; once it has, runs like this one compare with it; 2 images not compared/
        )
        expect(
          api.requests.filter(r => r.path.includes('/actions/')).map(r => `${r.method} ${r.path}`)
        ).toEqual(['GET /repos/acme/shop/actions/workflows/pr.yml/runs'])
      } finally {
        await api.stop()
      }
    }))
})

describe('maintenance branches', () => {
  it('release/* records its own images, and a pull request into it compares with them', () =>
    scenario(async (world, runner) => {
      const hub = new ImagePusher(world.hub)
      const push311 = (patch: string) =>
        hub.pushImage('library/python', fixed({ env: [`PYTHON_VERSION=3.11.${patch}`] }), {
          tag: '3.11-slim'
        })
      await push311('9')
      const inputs = { 'recording-branches': 'release/*' }
      await runner.runJob(inputs, {}, on.push())
      // the maintenance branch builds on the older Python
      world.writeDockerfile('3.11-slim')
      const release = await runner.runJob(inputs, {}, on.push('release/1.x'))
      expect(release.main.summary).toContain(
        'this push run of release/1.x records the baseline: pushes, schedules and dispatches on main and release/\\* are the source of truth.'
      )
      expect(release.post!.status).toBe(0)
      await push311('10')
      const pr = await runner.runJob(inputs, {}, on.pullRequest(30, { base: 'release/1.x' }))
      expect(pr.main.status).toBe(1)
      expect(statusOf(pr)['library/python:3.11-slim']).toBe('drifted')
      expect(pr.main.summary).toContain(
        'Or accept the new image: run the workflow .github/workflows/ci.yml on release/1.x by hand'
      )
      const accepted = await runner.runJob(
        { ...inputs, accept: 'python:3.11-slim' },
        {},
        on.dispatch('release/1.x')
      )
      expect(accepted.post!.status).toBe(0)
      const again = await runner.runJob(inputs, {}, on.pullRequest(30, { base: 'release/1.x' }))
      expect(again.main.status).toBe(0)
      // without the input, the branch records nothing: its pull requests meet 3.11 as new
      world.writeDockerfile('3.11-slim')
      await push311('11')
      const unnamed = await runner.runJob({}, {}, on.pullRequest(31, { base: 'release/2.x' }))
      expect([unnamed.main.status, statusOf(unnamed)['library/python:3.11-slim']]).toEqual([
        0,
        'new'
      ])
    }))
})

/**
 * Saves an entry as an earlier version of the action did: its own prefix and path, and the
 * library's default compression (zstd where the runner has it), in the default branch's scope.
 */
async function saveAsEarlierVersion(
  world: World,
  cache: CacheService,
  prefix: string,
  text: string
): Promise<void> {
  const path = `.base-image-drift-cache/${keySafe(prefix).replace(/-+$/, '')}.json`
  mkdirSync(dirname(join(world.workspace, path)), { recursive: true })
  writeFileSync(join(world.workspace, path), text)
  const library = pathToFileURL(resolve(ROOT, 'node_modules/@actions/cache/lib/cache.js')).href
  const temp = mkdtempSync(join(tmpdir(), 'bid-earlier-'))
  try {
    // asynchronously: the cache service answering it runs in this process
    await promisify(execFile)(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const cache = await import(${JSON.stringify(library)}); const id = await cache.saveCache([${JSON.stringify(path)}], ${JSON.stringify(`${prefix}90-1-drift-__acme_base-image-drift`)}); if (id === -1) process.exit(1)`
      ],
      {
        cwd: world.workspace,
        env: {
          PATH: process.env.PATH ?? '',
          GITHUB_WORKSPACE: world.workspace,
          RUNNER_TEMP: temp,
          ...cache.env,
          ...on.push().env
        }
      }
    )
  } finally {
    rmSync(temp, { recursive: true, force: true })
    rmSync(join(world.workspace, '.base-image-drift-cache'), { recursive: true, force: true })
  }
}

/** The prefix an earlier version derived for the runner's default step. */
const earlierPrefix = () =>
  legacyKeyPrefix('', {
    workflow: '.github/workflows/ci.yml',
    job: 'drift',
    files: DEFAULT_PATTERNS,
    buildArgs: {},
    platforms: parsePlatforms('', 'input platforms', hostPlatform(undefined, process.arch)),
    variableNames: []
  })

/** An earlier version's document: the same images, with its time and run of the whole file. */
async function earlierBaseline(runner: ActionRunner, cache: CacheService): Promise<string> {
  await runner.runJob({ 'cache-key': 'seed' })
  const [key] = cache.keysIn(MAIN).filter(k => k.startsWith(baselineKeyPrefix('seed')))
  const document = JSON.parse(cache.savedText(key)) as Record<string, unknown>
  return JSON.stringify({ ...document, updatedAt: '2026-11-01T00:00:00Z', run: '90-1' }, null, 2)
}

describe('upgrading from the key scheme of an earlier version', () => {
  it("the step's old entry is compared with once and carried into the repository's baseline", () =>
    scenario(async (world, runner, cache) => {
      await saveAsEarlierVersion(
        world,
        cache,
        earlierPrefix(),
        await earlierBaseline(runner, cache)
      )
      const upgraded = await runner.runJob()
      expect(upgraded.main.outputs['baseline-found']).toBe('true')
      expect(upgraded.main.summary).toContain(
        "Compared with the baseline an earlier version saved for this step in the Actions cache, carried into the repository's baseline"
      )
      expect(upgraded.post!.status).toBe(0)
      const saved = cache.keysIn(MAIN).filter(k => k.startsWith(baselineKeyPrefix('')))
      expect(saved).toHaveLength(1)
      expect(Object.keys(JSON.parse(cache.savedText(saved[0])).images)).toHaveLength(2)
      // from now on the repository's entry is read, by any workflow, on any runner
      await world.movePython312()
      const noZstd = pathWithoutZstd()
      try {
        const next = await runner.runJob(
          {},
          { ...caller('pr.yml'), PATH: noZstd.path },
          on.pullRequest(8)
        )
        expect([next.main.status, statusOf(next)['library/python:3.12-slim']]).toEqual([
          1,
          'drifted'
        ])
      } finally {
        noZstd.dispose()
      }
    }))

  it('an old zstd entry on a runner without zstd is said to exist, and nothing replaces it until a runner with zstd carries it over', () =>
    scenario(async (world, runner, cache) => {
      await saveAsEarlierVersion(
        world,
        cache,
        earlierPrefix(),
        await earlierBaseline(runner, cache)
      )
      await world.movePython312()
      const noZstd = pathWithoutZstd()
      try {
        const container = await runner.runJob({}, { PATH: noZstd.path })
        expect(container.main.outputs['baseline-found']).toBe('false')
        expect(messages(container.main, 'warning').map(w => w.message)).toEqual([
          expect.stringMatching(
            /^no baseline restored: the cache entry base-image-drift-[0-9a-f]+-90-1-drift-__acme_base-image-drift, saved by an earlier version of this action, is compressed with zstd, which this runner does not have; install zstd in this job, .*; 2 images neither compared nor recorded; set on-missing-baseline: fail to fail instead$/
          )
        ])
        expect(cache.keysIn(MAIN).filter(k => k.startsWith(baselineKeyPrefix('')))).toEqual([])
      } finally {
        noZstd.dispose()
      }
      // where zstd is, the old entry is read: the drift that happened meanwhile is caught
      const hosted = await runner.runJob()
      expect([hosted.main.status, statusOf(hosted)['library/python:3.12-slim']]).toEqual([
        1,
        'drifted'
      ])
    }))
})

describe('accept, as reviewers write it', () => {
  it('an image that did not drift is refused with what did; the pin line pasted back accepts its tag', () =>
    scenario(async (world, runner) => {
      await runner.runJob()
      await world.movePython312()
      const pr = await runner.runJob({}, {}, on.pullRequest(40))
      expect(pr.main.status).toBe(1)
      const refused = await runner.runJob({ accept: 'python:3.13-slim' }, {}, on.dispatch())
      expect(refused.main.status).toBe(2)
      expect(messages(refused.main, 'error').map(e => e.message)).toEqual([
        `input accept: "python:3.13-slim" matches no image that drifted in this run; what drifted: ${world.hub.host}/library/python:3.12-slim (accept: python:3.12-slim)`
      ])
      // the pin line of the report, with the registry this repository writes and the old digest
      const [pin] = /FROM (\S+@sha256:[0-9a-f]{64})/.exec(pr.main.summary)!.slice(1)
      const accepted = await runner.runJob({ accept: pin }, {}, on.dispatch())
      expect(accepted.main.status).toBe(0)
      expect(accepted.main.summary.split('\n')[0]).toBe(
        '## Accepted: 1 image recorded at its new digest (2 compared)'
      )
      expect(accepted.post!.status).toBe(0)
      const again = await runner.runJob({}, {}, on.pullRequest(40))
      expect(again.main.status).toBe(0)
    }))
})
