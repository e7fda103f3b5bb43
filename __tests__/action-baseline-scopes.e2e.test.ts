import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CacheService } from './harness/cache-service.js'
import { FakeGitHub } from './harness/fake-github.js'
import { ImagePusher } from './harness/images.js'
import { ActionRunner, type JobResult, type StepResult } from './helpers/action-runner.js'
import { fixed, inWorld, statuses, World } from './helpers/drift-world.js'
import { NODES } from './helpers/run.js'
import { on } from './helpers/trigger.js'

/**
 * The baseline as platform engineers set the gate up on GitHub, through a cache service that
 * keeps GitHub's rules (per-ref scopes and their restore order, immutable keys, 7-day
 * eviction, read-only tokens): the bundled action, run as the runner runs it, under the
 * runner's Node.
 */
const [, node] = NODES[NODES.length - 1]
const MAIN = 'refs/heads/main'

const scenario = (
  body: (world: World, runner: ActionRunner, cache: CacheService) => Promise<void>
) => inWorld(node, body)

/** Another runner machine for the same repository: a job that runs beside the others. */
function elsewhere(world: World, cache: CacheService): ActionRunner {
  const runner = new ActionRunner(world.workspace, cache.env, node)
  afterOtherRunners.push(() => runner.dispose())
  return runner
}
const afterOtherRunners: (() => void)[] = []
afterAll(() => afterOtherRunners.forEach(dispose => dispose()))

const messages = (step: StepResult | null, command: string) =>
  (step?.commands ?? []).filter(c => c.command === command).map(c => c.message)
const headline = (job: JobResult) => job.main.summary.split('\n')[0]

describe('the baseline under GitHub cache rules', () => {
  it('jobs docker and docker-edge keep apart: a drift in one is never hidden by the other', () =>
    scenario(async (world, runner) => {
      mkdirSync(join(world.workspace, 'edge'))
      writeFileSync(
        join(world.workspace, 'edge', 'Dockerfile'),
        `FROM ${world.hub.host}/library/python:3.13-slim\n`
      )
      const docker = { GITHUB_JOB: 'docker' }
      const edge = { GITHUB_JOB: 'docker-edge' }
      await runner.runJob({ files: 'Dockerfile' }, docker)
      // the edge job saves last, so its entry is the newest
      await runner.runJob({ files: 'edge/Dockerfile' }, edge)
      await world.movePython312()
      const job = await runner.runJob({ files: 'Dockerfile' }, docker)
      expect(job.main.status).toBe(1)
      expect(statuses(job)).toEqual({ 1: 'drifted', 4: 'unchanged' })
    }))

  it('matrix legs over directories each keep their own baseline, and a drift fails only its leg', () =>
    scenario(async (world, runner, cache) => {
      for (const service of ['api', 'worker']) {
        mkdirSync(join(world.workspace, 'services', service), { recursive: true })
        writeFileSync(
          join(world.workspace, 'services', service, 'Dockerfile'),
          `FROM ${world.hub.host}/library/python:${service === 'api' ? '3.12' : '3.13'}-slim\n`
        )
      }
      const leg = (service: string, run: string) =>
        runner.runJob({ files: `services/${service}/**` }, { GITHUB_RUN_ID: run })
      for (const service of ['api', 'worker'])
        expect((await leg(service, '500')).post!.status).toBe(0)
      expect(cache.keysIn(MAIN)).toHaveLength(2)
      await world.movePython312()
      const api = await leg('api', '501')
      const worker = await leg('worker', '501')
      expect([api.main.status, statuses(api)]).toEqual([1, { 1: 'drifted' }])
      expect([worker.main.status, statuses(worker)]).toEqual([0, { 1: 'unchanged' }])
    }))

  it("two steps in one job compare with the repository's one baseline, and the later save holds what both read", () =>
    scenario(async (world, runner, cache) => {
      writeFileSync(
        join(world.workspace, 'tools.Dockerfile'),
        `FROM ${world.hub.host}/library/python:3.13-slim\n`
      )
      // the runner: main steps in order, post steps in reverse, one RUNNER_TEMP
      const twoSteps = async (run: string) => {
        const env = (step: string) => ({ GITHUB_RUN_ID: run, GITHUB_ACTION: step })
        const first = await runner.startJob({ files: 'Dockerfile' }, env('__acme_bid'))
        const second = await runner.startJob(
          { files: 'tools.Dockerfile' },
          env('__acme_bid_2'),
          on.push(),
          false
        )
        const posts = [await second.finish(), await first.finish()]
        return { first: first.main, second: second.main, posts }
      }
      const recorded = await twoSteps('600')
      expect(recorded.posts.map(p => p?.status)).toEqual([0, 0])
      const keys = cache.keysIn(MAIN)
      // the second step's post step runs first and saves generation 1; the first step's, 2
      expect(keys.map(key => key.split('-').at(-1))).toEqual(['1', '2'])
      const images = Object.keys(JSON.parse(cache.savedText(keys[1])).images)
      expect(images).toHaveLength(3)
      expect(images).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/team\/base:1$/),
          expect.stringMatching(/library\/python:3\.12-slim$/),
          expect.stringMatching(/library\/python:3\.13-slim$/)
        ])
      )
      await world.movePython312()
      const next = await twoSteps('601')
      expect(next.first.status).toBe(1)
      expect(JSON.parse(next.first.outputs.images)[0]).toMatchObject({ status: 'drifted' })
      expect(JSON.parse(next.second.outputs.images)[0]).toMatchObject({ status: 'unchanged' })
    }))

  it('an entry evicted after 7 idle days is said to be lost, never a quiet first run; on-missing-baseline: fail fails and still saves', () =>
    scenario(async (world, runner, cache) => {
      const api = await new FakeGitHub().start()
      const github = { GITHUB_API_URL: api.url }
      try {
        const first = await runner.runJob({}, github)
        // no earlier successful run of the workflow on main: a first run, said as such
        expect(messages(first.main, 'warning')).toEqual([
          'no baseline yet: the first run of this workflow on this branch; 2 images recorded without comparison, and compared from the next run on; set on-missing-baseline: fail to fail instead'
        ])
        // GitHub lists that run as a success, with the step's default name
        api.runs!.push({
          workflow: 'ci.yml',
          branch: 'main',
          id: Number(first.main.env.GITHUB_RUN_ID),
          created_at: '2026-11-20T03:00:00Z',
          steps: [
            'Set up job',
            'Run actions/checkout@v5',
            'Run base-image-drift/base-image-drift@v1'
          ]
        })
        cache.advanceDays(8)
        await world.movePython312()
        const lost = await runner.runJob({}, github)
        expect(lost.main.status).toBe(0)
        expect(lost.main.outputs['baseline-found']).toBe('false')
        expect(headline(lost)).toBe('## No baseline found: 2 images recorded without comparison')
        const evicted = `no baseline found: this workflow recorded one in run ${first.main.env.GITHUB_RUN_ID} (2026-11-20), evicted since: unused for 7 days, or pushed out past the repository's 10 GB cache limit; 2 images recorded without comparison, and compared from the next run on; set on-missing-baseline: fail to fail instead`
        expect(messages(lost.main, 'warning')).toEqual([evicted])
        expect(lost.main.summary).toContain(`> [!WARNING]\n> N${evicted.slice(1)}.`)
        // a token without actions: read cannot tell: both causes are said
        api.runs = null
        cache.advanceDays(8)
        const unknown = await runner.runJob({}, github)
        expect(messages(unknown.main, 'warning')).toEqual([
          expect.stringMatching(
            /^no baseline found: a first run, or one evicted \(unused for 7 days/
          )
        ])
      } finally {
        await api.stop()
      }

      cache.advanceDays(8)
      const failing = await runner.runJob({ 'on-missing-baseline': 'fail' })
      expect(failing.main.status).toBe(3)
      expect(failing.post).toBeNull()
      expect(messages(failing.main, 'error')).toEqual([
        expect.stringMatching(
          /^no baseline found \(on-missing-baseline: fail\); baseline saved to the Actions cache as .+, so the next run compares with it$/
        )
      ])
      const after = await runner.runJob({ 'on-missing-baseline': 'fail' })
      expect(after.main.status).toBe(0)
      expect(after.main.outputs['baseline-found']).toBe('true')
    }))

  it('a nightly run of the same workflow and job keeps the entry warm', () =>
    scenario(async (world, runner, cache) => {
      await runner.runJob()
      for (let night = 0; night < 3; night++) {
        cache.advanceDays(5)
        expect((await runner.runJob({}, {}, on.schedule())).main.outputs['baseline-found']).toBe(
          'true'
        )
      }
      await world.movePython312()
      const push = await runner.runJob()
      expect(push.main.status).toBe(1)
      expect(statuses(push)).toEqual({ 1: 'drifted', 4: 'unchanged' })
    }))

  it('restores in a container job what the host saved, and the other way round', () =>
    scenario(async (world, runner, cache) => {
      // the runner's layouts: /home/runner/work/shop/shop beside …/work/_temp, /__w/shop/shop beside /__w/_temp
      const root = mkdtempSync(join(tmpdir(), 'bid-container-'))
      try {
        const workspace = join(root, '__w', 'shop', 'shop')
        mkdirSync(workspace, { recursive: true })
        cpSync(world.workspace, workspace, { recursive: true })
        const container = new ActionRunner(workspace, cache.env, node, {
          temp: join(root, '__w', '_temp'),
          home: join(root, 'github', 'home')
        })
        const onHost = await runner.runJob()
        expect(onHost.post!.status).toBe(0)
        const inContainer = await container.runJob()
        expect(inContainer.main.outputs['baseline-found']).toBe('true')
        expect(Object.values(statuses(inContainer))).toEqual(['unchanged', 'unchanged'])
        expect(inContainer.post!.status).toBe(0)
        const backOnHost = await runner.runJob()
        expect(backOnHost.main.outputs['baseline-found']).toBe('true')
      } finally {
        rmSync(root, { recursive: true, force: true })
      }
    }))

  it('a restore the runner skips (ACTIONS_CACHE_MODE) or a hit without the file is "unavailable": a warning, and no save', () =>
    scenario(async (_world, runner, cache) => {
      const saved = await runner.runJob()
      const key = cache.savedKeys[0]
      const skipped = await runner.runJob({}, { ACTIONS_CACHE_MODE: 'none' })
      expect(skipped.main.status).toBe(0)
      expect(skipped.main.outputs['baseline-found']).toBe('false')
      expect(messages(skipped.main, 'warning')).toEqual([
        "the runner's cache mode (ACTIONS_CACHE_MODE=none) does not allow reading the baseline cache, so drift could not be checked; no baseline is saved by this run, and the next run compares with the last good one"
      ])
      expect(cache.savedKeys).toEqual([key])

      // an entry whose archive holds the file elsewhere (as `~` paths did between host and container)
      expect(saved.post!.status).toBe(0)
      cache.rewriteEntry(key, { 'elsewhere/baseline.json': '{}' })
      const empty = await runner.runJob()
      expect(empty.main.outputs['baseline-found']).toBe('false')
      expect(messages(empty.main, 'warning')).toEqual([
        expect.stringMatching(
          /^the cache entry .+ was restored but no baseline file came out of it at \.base-image-drift-cache\/.+\.json, so drift could not be checked; no baseline is saved by this run/
        )
      ])
      expect(cache.savedKeys).toEqual([key])
    }))
})

describe('who records, and where drift is accepted', () => {
  it('pull requests of every kind, merge queues, tags and other branches compare with the default branch and record nothing', () =>
    scenario(async (world, runner, cache) => {
      await runner.runJob()
      const recorded = cache.savedKeys
      // a pull request drops an image: were it to save, the default branch would lose it
      writeFileSync(
        join(world.workspace, 'Dockerfile'),
        `FROM ${world.hub.host}/library/python:3.12-slim\n`
      )
      for (const trigger of [
        on.pullRequest(7),
        on.pullRequest(8, { fork: true }),
        on.pullRequestTarget(9),
        on.mergeGroup(7),
        on.tag('v1.0.0'),
        on.push('release'),
        on.dispatch('feature')
      ]) {
        const job = await runner.runJob({}, {}, trigger)
        expect(job.main.status).toBe(0)
        expect(job.main.outputs['baseline-found']).toBe('true')
        expect(job.main.summary).toMatch(
          /records nothing: only pushes, schedules and dispatches on main record/
        )
        expect(job.post?.status ?? 0).toBe(0)
      }
      expect(cache.savedKeys).toEqual(recorded)
    }))

  it('accept on a pull request fails at once and says where to accept; accepted on the default branch, it reaches the pull request and the nightly run', () =>
    scenario(async (world, runner) => {
      await runner.runJob()
      await world.movePython312()
      const pull = await runner.runJob({}, {}, on.pullRequest(7))
      expect(pull.main.status).toBe(1)
      const image = `${world.hub.host}/library/python:3.12-slim`
      // the remedy fits the event: a pull request's re-run has no inputs
      expect(pull.main.summary).toContain(
        'Or accept the new image: run the workflow .github/workflows/ci.yml on main by hand (Actions → Run workflow) with the input accept set to the images to accept, or true, then re-run this job.'
      )

      const refused = await runner.runJob({ accept: 'true' }, {}, on.pullRequest(7))
      expect(refused.main.status).toBe(2)
      expect(messages(refused.main, 'error')).toEqual([
        "input accept: this pull_request run of refs/pull/7/merge compares with main's newest baseline and records nothing: only pushes, schedules and dispatches on main record (inputs save-baseline, recording-branches), so nothing it accepts would reach another run. To accept: run the workflow .github/workflows/ci.yml on main by hand (Actions → Run workflow) with the input accept set to the images to accept, or true"
      ])

      const accepted = await runner.runJob({ accept: image }, {}, on.dispatch())
      expect(accepted.main.status).toBe(0)
      expect(headline(accepted)).toBe(
        '## Accepted: 1 image recorded at its new digest (2 compared)'
      )
      expect(accepted.post!.status).toBe(0)

      const rerun = await runner.runJob({}, {}, on.pullRequest(7))
      expect([rerun.main.status, statuses(rerun)]).toEqual([0, { 1: 'unchanged', 4: 'unchanged' }])
      const nightly = await runner.runJob({}, {}, on.schedule())
      expect([nightly.main.status, statuses(nightly)]).toEqual([
        0,
        { 1: 'unchanged', 4: 'unchanged' }
      ])
    }))

  it("save-baseline: always saves in the run's own scope, which the default branch never reads; a fork's read-only token is refused with one warning", () =>
    scenario(async (world, runner, cache) => {
      await runner.runJob()
      // the pull request adds an image, so it has something to save
      const dockerfile = join(world.workspace, 'Dockerfile')
      const before = readFileSync(dockerfile, 'utf8')
      writeFileSync(dockerfile, `${before}FROM ${world.hub.host}/library/python:3.13-slim\n`)
      const own = await runner.runJob({ 'save-baseline': 'always' }, {}, on.pullRequest(7))
      expect(own.post!.status).toBe(0)
      expect(cache.keysIn('refs/pull/7/merge')).toHaveLength(1)
      expect(cache.keysIn(MAIN)).toHaveLength(1)
      const fork = await runner.runJob(
        { 'save-baseline': 'always' },
        {},
        on.pullRequest(8, { fork: true })
      )
      writeFileSync(dockerfile, before)
      expect(fork.main.status).toBe(0)
      expect(messages(fork.post, 'warning')).toEqual([
        expect.stringMatching(/^baseline not saved to the cache \(.*cache write denied/)
      ])
      expect(messages(fork.post, 'error')).toEqual([])
      expect(cache.keysIn('refs/pull/8/merge')).toEqual([])
      // what the pull request saved is read by it alone: the default branch still compares with its own
      await world.movePython312()
      expect((await runner.runJob()).main.status).toBe(1)
    }))

  it('an accept left in the workflow file warns on every push: the gate is off for what it names', () =>
    scenario(async (world, runner) => {
      await runner.runJob()
      await world.movePython312()
      const push = await runner.runJob({ accept: 'true' })
      expect(push.main.status).toBe(0)
      expect(messages(push.main, 'warning')).toEqual([
        'input accept is set on a push run: every such run accepts the drift it names, so the gate never fails for it; set accept only from a workflow_dispatch input'
      ])
    }))

  it('accept takes a list: only the images named are accepted, the others still fail', () =>
    scenario(async (world, runner) => {
      await runner.runJob()
      await world.movePython312()
      await new ImagePusher(world.other).pushImage('team/base', fixed({ env: ['BASE=2'] }), {
        tag: '1'
      })
      const python = `${world.hub.host}/library/python:3.12-slim`
      const partly = await runner.runJob({ accept: python }, {}, on.dispatch())
      expect(partly.main.status).toBe(1)
      expect(messages(partly.main, 'error').at(-1)).toBe(
        '1 image changed under its tag since the last successful build'
      )
      expect(partly.post).toBeNull()
      // the other image, accepted by itself
      const rest = await runner.runJob(
        { accept: `${world.otherProxy.host}/team/base:1` },
        {},
        on.dispatch()
      )
      expect(rest.main.status).toBe(1)
      const both = await runner.runJob(
        { accept: `${python}\n${world.otherProxy.host}/team/base:1` },
        {},
        on.dispatch()
      )
      expect(both.main.status).toBe(0)
      expect(headline(both)).toBe('## Accepted: 2 images recorded at their new digest (2 compared)')
      expect(statuses(await runner.runJob())).toEqual({ 1: 'unchanged', 4: 'unchanged' })
    }))

  it('a long job whose main step ran before an acceptance never undoes it; its new images are layered on top', () =>
    scenario(async (world, runner, cache) => {
      const dockerfile = join(world.workspace, 'Dockerfile')
      const python = `FROM ${world.hub.host}/library/python:3.12-slim\n`
      const base = `FROM ${world.otherProxy.host}/team/base:1\n`
      writeFileSync(dockerfile, python)
      await runner.runJob()
      // a long job starts: its main step sees python as it was, and team/base for the first time
      writeFileSync(dockerfile, python + base)
      const slow = await elsewhere(world, cache).startJob()
      expect(statuses({ main: slow.main, post: null })).toEqual({ 1: 'unchanged', 2: 'new' })
      // meanwhile upstream moves and someone accepts it on the default branch
      writeFileSync(dockerfile, python)
      await world.movePython312()
      const accepted = await runner.runJob({ accept: 'true' }, {}, on.dispatch())
      expect(accepted.main.status).toBe(0)
      // the long job's post step finally runs
      const post = await slow.finish()
      expect(post!.status).toBe(0)
      expect(post!.stdout).toMatch(
        /baseline saved to the Actions cache as \S+ \(merged into \S+, saved while this job ran\)/
      )
      expect(cache.savedKeys).toHaveLength(3)
      writeFileSync(dockerfile, python + base)
      const next = await runner.runJob()
      expect([next.main.status, statuses(next)]).toEqual([0, { 1: 'unchanged', 2: 'unchanged' }])
    }))

  it('a long job with nothing new saves nothing over a newer baseline', () =>
    scenario(async (world, runner, cache) => {
      await runner.runJob()
      const slow = await elsewhere(world, cache).startJob()
      await world.movePython312()
      await runner.runJob({ accept: 'true' }, {}, on.dispatch())
      const post = await slow.finish()
      expect(post!.stdout).toMatch(
        /baseline not saved: the newest one \(\S+\) already holds what this step read/
      )
      expect(cache.savedKeys).toHaveLength(2)
      expect((await runner.runJob()).main.status).toBe(0)
    }))

  it('a pull request that changes a tag says it compared nothing for it; the default branch then records it with a notice and its pin line', () =>
    scenario(async (world, runner) => {
      await runner.runJob()
      world.writeDockerfile('3.13-slim')
      const pull = await runner.runJob({}, {}, on.pullRequest(7))
      expect(headline(pull)).toBe(
        '## No drift: 1 compared, 1 new (not compared, and not recorded by this run)'
      )
      const merged = await runner.runJob()
      expect(headline(merged)).toBe('## No drift: 1 compared, 1 new (recorded without comparison)')
      const notices = merged.main.commands.filter(c => c.command === 'notice')
      expect(notices).toHaveLength(1)
      expect(notices[0].properties).toMatchObject({
        file: 'Dockerfile',
        line: '1',
        title: `${world.hub.host}/library/python:3.13-slim recorded without comparison`
      })
      expect(notices[0].message).toMatch(
        new RegExp(
          `To keep exactly this image: FROM ${world.hub.host}/library/python:3\\.13-slim@sha256:[0-9a-f]{64} AS base$`
        )
      )
    }))

  it('knows the default branch from the API when the event does not name it, and says what it decided', () =>
    scenario(async (_world, runner, cache) => {
      const api = await new FakeGitHub().start()
      try {
        const bare = { ...on.push(), event: { ref: MAIN } }
        api.defaultBranch = 'trunk'
        const onMain = await runner.runJob({}, { GITHUB_API_URL: api.url }, bare)
        expect(onMain.main.summary).toContain(
          "This push run of main compares with trunk's newest baseline and records nothing"
        )
        expect(api.requests.map(r => `${r.method} ${r.path}`)).toEqual(['GET /repos/acme/shop'])
        expect(cache.savedKeys).toEqual([])
        api.defaultBranch = null
        const unknown = await runner.runJob({}, { GITHUB_API_URL: api.url }, bare)
        expect(unknown.main.summary).toContain(
          'records nothing: the default branch could not be told'
        )
        api.defaultBranch = 'main'
        await runner.runJob({}, { GITHUB_API_URL: api.url }, bare)
        expect(cache.savedKeys).toHaveLength(1)
      } finally {
        await api.stop()
      }
    }))

  it("a fork's read-only token gives one warning for the comment and the check run together", () =>
    scenario(async (world, runner) => {
      const api = await new FakeGitHub().start()
      try {
        await runner.runJob()
        await world.movePython312()
        api.denyComments = true
        api.denyChecks = true
        const job = await runner.runJob(
          { 'check-name': 'base images' },
          { GITHUB_API_URL: api.url },
          on.pullRequest(8, { fork: true })
        )
        expect(job.main.status).toBe(1)
        expect(messages(job.main, 'warning')).toEqual([
          'could not comment on the pull request or create the check run "base images" (HTTP 403): the github-token needs the `pull-requests: write` and `checks: write` permissions, which pull requests from forks never get; the job summary and annotations carry the report'
        ])
      } finally {
        await api.stop()
      }
    }))
})

describe('a lockfile in a pull request', () => {
  it('carries the lockfile that accepts the drift in the summary and an output; committing it is the acceptance', () =>
    scenario(async (world, runner) => {
      const inputs = { lockfile: 'lock.json' }
      const lockfile = join(world.workspace, 'lock.json')
      const first = await runner.runJob({ ...inputs, 'update-lockfile': 'true' })
      expect(first.main.status).toBe(0)
      const committed = readFileSync(lockfile, 'utf8')
      await world.movePython312()
      const pull = await runner.runJob(inputs, {}, on.pullRequest(7))
      expect(pull.main.status).toBe(1)
      expect(pull.main.summary).toContain('### Commit this as `lock.json` to accept')
      const proposed = pull.main.outputs.lockfile
      expect(pull.main.summary).toContain(proposed.trimEnd())
      const images = (text: string) =>
        Object.fromEntries(
          Object.entries(JSON.parse(text).images as Record<string, { digest: string }>).map(
            ([k, v]) => [k, v.digest]
          )
        )
      const python = `${world.hub.host}/library/python:3.12-slim`
      expect(images(proposed)[python]).not.toBe(images(committed)[python])
      expect(readFileSync(lockfile, 'utf8')).toBe(committed)
      // the reviewer commits it
      writeFileSync(lockfile, proposed)
      const after = await runner.runJob(inputs, {}, on.pullRequest(7))
      expect(after.main.status).toBe(0)
      expect(after.main.outputs.lockfile).toBe('')
      expect(after.main.summary).not.toContain('Commit this as')
    }))

  it('accept without update-lockfile fails at once: nothing would be recorded', () =>
    scenario(async (_world, runner) => {
      const job = await runner.runJob({ lockfile: 'lock.json', accept: 'true' })
      expect(job.main.status).toBe(2)
      expect(messages(job.main, 'error')[0]).toMatch(
        /^input accept: this run compares with lock\.json and changes nothing \(update-lockfile: false\), so nothing it accepts would reach another run\. To accept: commit the lockfile this run's summary shows/
      )
    }))
})
