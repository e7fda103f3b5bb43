import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { CacheService } from './harness/cache-service.js'
import { ActionRunner } from './helpers/action-runner.js'
import { on } from './helpers/trigger.js'
import { inWorld, statuses, World } from './helpers/drift-world.js'
import { CLI, NODES, runNode } from './helpers/run.js'

/**
 * The drift lifecycle end to end: the bundled action run as the runner runs it,
 * against the real registry (token auth), a second registry behind a proxy that can fail,
 * and the Actions cache emulator or a lockfile; then the same with the CLI.
 */
describe.each(NODES)('the action under %s', (_, node) => {
  /** Each scenario gets its own registries, workspace, cache service and runner. */
  const scenario = (
    body: (world: World, runner: ActionRunner, cache: CacheService) => Promise<void>
  ) => inWorld(node, body)

  describe('with the Actions cache', () => {
    it('first run: passes, says so, and the post step saves a baseline', () =>
      scenario(async (_world, runner, cache) => {
        const job = await runner.runJob()
        expect(job.main.status).toBe(0)
        expect(job.main.outputs['baseline-found']).toBe('false')
        expect(job.main.outputs.drifted).toBe('false')
        expect(job.main.summary).toContain(
          '## No baseline found: 2 images recorded without comparison'
        )
        // where the run is, in a folded group of the log, each image in the debug log
        const log = job.main.stdout.split('\n')
        const group = log.indexOf('::group::Checking base images')
        const end = log.indexOf('::endgroup::')
        expect([group >= 0, end > group]).toEqual([true, true])
        expect(log.slice(group, end)).toEqual(
          expect.arrayContaining([
            'Scanned 1 file: 2 image references, 2 distinct images',
            'Resolved 2 of 2 images',
            expect.stringMatching(/^::debug::resolved \S+\/library\/python:3\.12-slim$/)
          ])
        )
        // no GitHub API to ask whether an earlier run recorded one: both causes are said
        expect(job.main.commands.filter(c => c.command === 'warning').map(c => c.message)).toEqual([
          "no baseline found: a first run, or one evicted (unused for 7 days, or past the repository's 10 GB cache limit); 2 images recorded without comparison, and compared from the next run on; set on-missing-baseline: fail to fail instead"
        ])
        expect(statuses(job)).toEqual({ 1: 'new', 4: 'new' })
        expect(job.post!.status).toBe(0)
        // the repository's fixed-length prefix, the ref's, and the ref's first generation
        expect(cache.savedKeys).toEqual([
          expect.stringMatching(/^base-image-drift-v2-[0-9a-f]{20}-[0-9a-f]{12}-1$/)
        ])
      }))

    it('the tag moves upstream: fails on the FROM line, drifted=true, no post step, baseline kept', () =>
      scenario(async (world, runner, cache) => {
        await runner.runJob()
        await world.movePython312()
        const job = await runner.runJob()
        expect(job.main.status).toBe(1)
        expect(job.main.outputs.drifted).toBe('true')
        expect(job.main.outputs['baseline-found']).toBe('true')
        const errors = job.main.commands.filter(c => c.command === 'error')
        expect(errors[0].properties).toMatchObject({
          file: 'Dockerfile',
          line: '1',
          title: `${world.hub.host}/library/python:3.12-slim changed under its tag`
        })
        expect(errors.at(-1)!.message).toBe(
          '1 image changed under its tag since the last successful build'
        )
        expect(job.post).toBeNull()
        expect(cache.savedKeys).toHaveLength(1)
      }))

    it('accept: true passes and saves; the next run finds everything unchanged', () =>
      scenario(async (world, runner, cache) => {
        await runner.runJob()
        await world.movePython312()
        const accepted = await runner.runJob({ accept: 'true' }, {}, on.dispatch())
        expect(accepted.main.status).toBe(0)
        expect(statuses(accepted)).toEqual({ 1: 'drifted', 4: 'unchanged' })
        expect(accepted.main.summary).toMatch(
          /^## Accepted: 1 image recorded at its new digest \(2 compared\)\n/
        )
        expect(accepted.post!.status).toBe(0)
        expect(cache.savedKeys).toHaveLength(2)
        const next = await runner.runJob()
        expect(next.main.status).toBe(0)
        expect(statuses(next)).toEqual({ 1: 'unchanged', 4: 'unchanged' })
        expect(next.main.summary).toContain('## No drift: 2 compared\n')
      }))

    it('editing the FROM line to another tag is new, not drift', () =>
      scenario(async (world, runner) => {
        await runner.runJob({ platforms: 'linux/amd64' })
        world.writeDockerfile('3.13-slim')
        const job = await runner.runJob({ platforms: 'linux/amd64' })
        expect(job.main.status).toBe(0)
        expect(statuses(job)).toEqual({ 1: 'new', 4: 'unchanged' })
        // said as it is: one image compared, one recorded without comparison
        expect(job.main.summary).toMatch(
          /^## No drift: 1 compared, 1 new \(recorded without comparison\)\n/
        )
      }))

    it('tracking linux/amd64, a rebuild of only the arm64 image is index churn and passes', () =>
      scenario(async (world, runner) => {
        world.writeDockerfile('3.13-slim')
        await runner.runJob({ platforms: 'linux/amd64' })
        await world.rebuildArm64Only()
        const job = await runner.runJob({ platforms: 'linux/amd64' })
        expect(job.main.status).toBe(0)
        expect(statuses(job)).toEqual({ 1: 'index-churn', 4: 'unchanged' })
        expect(job.main.outputs.drifted).toBe('false')
      }))

    it('without platforms, tracks the platform of the runner: a rebuild of only arm64 is index churn, not a failure', () =>
      scenario(async (world, runner) => {
        world.writeDockerfile('3.13-slim')
        await runner.runJob({}, { RUNNER_ARCH: 'X64' })
        await world.rebuildArm64Only()
        const amd64 = await runner.runJob({}, { RUNNER_ARCH: 'X64' })
        expect(amd64.main.status).toBe(0)
        expect(JSON.parse(amd64.main.outputs.images)[0]).toMatchObject({
          status: 'index-churn',
          reason: 'only other platforms were rebuilt: linux/arm64'
        })
        // the same kind of rebuild fails a job on an ARM runner: that is what it builds on
        await world.rebuildArm64Only('2')
        const arm = await runner.runJob({}, { RUNNER_ARCH: 'ARM64' })
        expect(arm.main.status).toBe(1)
        expect(JSON.parse(arm.main.outputs.images)[0]).toMatchObject({
          status: 'drifted',
          changedPlatforms: ['linux/arm64']
        })
      }))

    it('one registry down with on-error: warn passes with a warning and keeps its digest in the baseline', () =>
      scenario(async (world, runner) => {
        await runner.runJob()
        world.otherProxy.inject({ status: 503, times: 1000 })
        const down = await runner.runJob()
        world.otherProxy.reset()
        expect(down.main.status).toBe(0)
        expect(statuses(down)).toEqual({ 1: 'unchanged', 4: 'error' })
        const warning = down.main.commands.find(
          c => c.command === 'warning' && c.properties.line === '4'
        )
        expect(warning?.message).toBe(
          `${world.otherProxy.host} answered HTTP 503 for the manifest of ${world.otherProxy.host}/team/base:1; the registry is unavailable for now: run again later`
        )
        expect(down.post!.status).toBe(0)
        const after = await runner.runJob()
        expect(statuses(after)).toEqual({ 1: 'unchanged', 4: 'unchanged' })
      }))
  })

  describe('with a lockfile', () => {
    const world = new World()
    let runner: ActionRunner
    const lockfile = () => join(world.workspace, '.base-image-drift.json')
    const inputs = { lockfile: '.base-image-drift.json', 'update-lockfile': 'true' }
    beforeAll(async () => {
      await world.start()
      runner = new ActionRunner(world.workspace, {}, node)
    })
    afterAll(async () => {
      runner.dispose()
      await world.stop()
    })

    it('runs the same lifecycle, rewriting the lockfile only after success', async () => {
      const first = await runner.runJob(inputs)
      expect(first.main.status).toBe(0)
      expect(statuses(first)).toEqual({ 1: 'new', 4: 'new' })
      const recorded = readFileSync(lockfile(), 'utf8')
      expect(Object.keys(JSON.parse(recorded).images)).toHaveLength(2)

      await world.movePython312()
      const drift = await runner.runJob(inputs)
      expect(drift.main.status).toBe(1)
      expect(drift.main.commands.find(c => c.command === 'error')?.properties).toMatchObject({
        file: 'Dockerfile',
        line: '1'
      })
      expect(readFileSync(lockfile(), 'utf8')).toBe(recorded)

      expect((await runner.runJob({ ...inputs, accept: 'true' })).main.status).toBe(0)
      expect(readFileSync(lockfile(), 'utf8')).not.toBe(recorded)
      expect(statuses(await runner.runJob(inputs))).toEqual({ 1: 'unchanged', 4: 'unchanged' })

      world.writeDockerfile('3.13-slim')
      const withPlatforms = { ...inputs, platforms: 'linux/amd64' }
      expect(statuses(await runner.runJob(withPlatforms))).toEqual({ 1: 'new', 4: 'unchanged' })
      await world.rebuildArm64Only()
      expect(statuses(await runner.runJob(withPlatforms))).toEqual({
        1: 'index-churn',
        4: 'unchanged'
      })

      world.otherProxy.inject({ status: 503, times: 1000 })
      const down = await runner.runJob(withPlatforms)
      world.otherProxy.reset()
      expect(down.main.status).toBe(0)
      expect(statuses(down)).toEqual({ 1: 'unchanged', 4: 'error' })
      expect(
        JSON.parse(readFileSync(lockfile(), 'utf8')).images[`${world.otherProxy.host}/team/base:1`]
      ).toBeDefined()
      expect(statuses(await runner.runJob(withPlatforms))).toEqual({
        1: 'unchanged',
        4: 'unchanged'
      })
    }, 120_000)
  })

  describe('the CLI: check --baseline', () => {
    const world = new World()
    beforeAll(() => world.start())
    afterAll(() => world.stop())
    const check = (...args: string[]) =>
      runNode(CLI, ['check', '--json', '--baseline', 'base.json', ...args], {
        cwd: world.workspace,
        node,
        env: { PATH: process.env.PATH, HOME: world.workspace }
      })
    const findings = (ran: { stdout: string }) =>
      Object.fromEntries(
        (JSON.parse(ran.stdout).findings as { line: number; status: string }[]).map(f => [
          f.line,
          f.status
        ])
      )

    it('exits 0, 1 and 0 through record, drift and accept, and writes only after success', async () => {
      const first = await check('--update')
      expect(first.status).toBe(0)
      expect(findings(first)).toEqual({ 1: 'new', 4: 'new' })
      const recorded = readFileSync(join(world.workspace, 'base.json'), 'utf8')

      await world.movePython312()
      const drift = await check('--update')
      expect(drift.status).toBe(1)
      expect(JSON.parse(drift.stdout)).toMatchObject({
        drifted: true,
        failures: ['1 image changed under its tag since the last successful build']
      })
      expect(readFileSync(join(world.workspace, 'base.json'), 'utf8')).toBe(recorded)

      const text = await runNode(CLI, ['check', '--baseline', 'base.json'], {
        cwd: world.workspace,
        node,
        env: { PATH: process.env.PATH, HOME: world.workspace }
      })
      expect(text.status).toBe(1)
      expect(text.stdout).toContain(
        `Dockerfile:1: ${world.hub.host}/library/python:3.12-slim changed under its tag`
      )
      expect(text.stdout).toMatch(
        new RegExp(
          `keep the known-good image:  FROM ${world.hub.host.replace(/\./g, '\\.')}/library/python:3\\.12-slim@sha256:[a-f0-9]{64} AS base`
        )
      )

      expect((await check('--accept', '--update')).status).toBe(0)
      expect(findings(await check())).toEqual({ 1: 'unchanged', 4: 'unchanged' })
      expect((await check('--on-drift', 'warn')).status).toBe(0)
    }, 60_000)
  })
})
