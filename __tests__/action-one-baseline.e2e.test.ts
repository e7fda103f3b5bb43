import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CacheService } from './harness/cache-service.js'
import { ActionRunner, type JobResult } from './helpers/action-runner.js'
import { inWorld, statuses, World } from './helpers/drift-world.js'
import { NODES, pathWithoutZstd } from './helpers/run.js'
import { on } from './helpers/trigger.js'

/**
 * One baseline per repository, as teams lay out their workflows: through the bundled action
 * and the cache service emulator that keeps GitHub's scopes and the cache version
 * `@actions/cache` derives from the path, the compression method and the cross-OS flag.
 */
const [, node] = NODES[NODES.length - 1]
const MAIN = 'refs/heads/main'

const scenario = (
  body: (world: World, runner: ActionRunner, cache: CacheService) => Promise<void>
) => inWorld(node, body)

const workflow = (file: string, job: string) => ({
  GITHUB_WORKFLOW_REF: `acme/shop/.github/workflows/${file}@refs/heads/main`,
  GITHUB_WORKFLOW: file.replace(/\.yml$/, ''),
  GITHUB_JOB: job
})

/** The files of the drifted findings, as the `images` output lists them. */
const drifted = (job: JobResult) =>
  (JSON.parse(job.main.outputs.images) as { status: string; file: string }[])
    .filter(f => f.status === 'drifted')
    .map(f => f.file)

const others: ActionRunner[] = []
const checkouts: string[] = []
afterAll(() => {
  others.forEach(runner => runner.dispose())
  checkouts.forEach(dir => rmSync(dir, { recursive: true, force: true }))
})
function anotherRunner(world: World, cache: CacheService): ActionRunner {
  const runner = new ActionRunner(world.workspace, cache.env, node)
  others.push(runner)
  return runner
}

/** A matrix leg runs on a machine of its own, with a checkout of its own. */
function anotherMachine(world: World, cache: CacheService): ActionRunner {
  const checkout = mkdtempSync(join(tmpdir(), 'bid-leg-'))
  checkouts.push(checkout)
  cpSync(world.workspace, checkout, { recursive: true })
  const runner = new ActionRunner(checkout, cache.env, node)
  others.push(runner)
  return runner
}

describe("the repository's one baseline", () => {
  it('pr.yml and release.yml beside main.yml compare with what main.yml recorded', () =>
    scenario(async (world, runner) => {
      const recorded = await runner.runJob({}, workflow('main.yml', 'build'))
      expect(recorded.post!.status).toBe(0)
      await world.movePython312()
      const pr = await runner.runJob({}, workflow('pr.yml', 'drift-check'), on.pullRequest(3))
      expect(pr.main.outputs['baseline-found']).toBe('true')
      expect([pr.main.status, statuses(pr)]).toEqual([1, { 1: 'drifted', 4: 'unchanged' }])
      // other inputs (a spelled-out platform, another glob) keep the same baseline
      const release = await runner.runJob(
        { platforms: 'linux/amd64', files: 'Dockerfile\n**/*.Dockerfile' },
        workflow('release.yml', 'publish'),
        on.push('v1-tag-branch')
      )
      expect([release.main.status, statuses(release)]).toEqual([
        1,
        { 1: 'drifted', 4: 'unchanged' }
      ])
    }))

  it('an acceptance in one workflow reaches every other workflow and job at once', () =>
    scenario(async (world, runner) => {
      await runner.runJob({}, workflow('main.yml', 'build'))
      await world.movePython312()
      const accepted = await runner.runJob(
        { accept: 'true' },
        workflow('accept.yml', 'accept'),
        on.dispatch()
      )
      expect(accepted.post!.status).toBe(0)
      for (const [file, job] of [
        ['main.yml', 'build'],
        ['nightly.yml', 'scan'],
        ['pr.yml', 'check']
      ]) {
        const next = await runner.runJob({}, workflow(file, job), on.pullRequest(9))
        expect([file, next.main.status, statuses(next)]).toEqual([
          file,
          0,
          { 1: 'unchanged', 4: 'unchanged' }
        ])
      }
    }))

  it('matrix legs saving in the same moment both keep what they read', () =>
    scenario(async (world, runner, cache) => {
      for (const service of ['api', 'worker']) {
        mkdirSync(join(world.workspace, 'services', service), { recursive: true })
        writeFileSync(
          join(world.workspace, 'services', service, 'Dockerfile'),
          `FROM ${world.hub.host}/library/python:${service === 'api' ? '3.12' : '3.13'}-slim\n`
        )
      }
      const leg = (service: string, machine: ActionRunner) =>
        machine.startJob({ files: `services/${service}/**` }, { GITHUB_RUN_ID: '700' })
      const api = await leg('api', runner)
      const worker = await leg('worker', anotherMachine(world, cache))
      // both post steps run at once and save the same generation: one is refused the key,
      // waits for the other's entry, and saves the next generation with both
      const posts = await Promise.all([api.finish(), worker.finish()])
      expect(posts.map(p => p!.status)).toEqual([0, 0])
      expect(cache.keysIn(MAIN).map(key => key.split('-').at(-1))).toEqual(['1', '2'])
      expect(
        posts.filter(p => /\(merged into \S+-1, saved while this job ran\)/.test(p!.stdout))
      ).toHaveLength(1)
      // what the next run restores: the newest entry
      const newest = JSON.parse(cache.savedText(cache.newestIn(MAIN)!)) as {
        images: Record<string, unknown>
      }
      expect(Object.keys(newest.images)).toEqual([
        expect.stringMatching(/python:3\.12-slim$/),
        expect.stringMatching(/python:3\.13-slim$/)
      ])
      await world.movePython312()
      const next = await runner.runJob({ files: 'services/**' })
      expect(next.main.status).toBe(1)
      expect(drifted(next)).toEqual(['services/api/Dockerfile'])
    }))

  it('a save cancelled after reserving its key costs the next one a wait, never its baseline', () =>
    scenario(async (world, runner, cache) => {
      await runner.runJob()
      const [first] = cache.keysIn(MAIN)
      cache.abandonReservation(first.replace(/-1$/, '-2'), first)
      writeFileSync(
        join(world.workspace, 'tools.Dockerfile'),
        `FROM ${world.hub.host}/library/python:3.13-slim\n`
      )
      // the wait for the abandoned save is the cache deadline (the input timeout) and a margin
      const next = await runner.runJob({ timeout: '2' })
      expect(next.post!.status).toBe(0)
      expect(next.post!.stdout).toContain(
        `baseline saved to the Actions cache as ${first.replace(/-1$/, '-3')}`
      )
      await world.movePython312()
      expect(drifted(await runner.runJob({}, {}))).toEqual(['Dockerfile'])
    }))

  it('an entry saved on a runner without zstd restores on one with it, and the other way round', () =>
    scenario(async (world, runner, cache) => {
      const noZstd = pathWithoutZstd()
      try {
        const without = { PATH: noZstd.path }
        const saved = await runner.runJob({}, without)
        expect(saved.post!.status).toBe(0)
        const withZstd = await anotherRunner(world, cache).runJob()
        expect(withZstd.main.outputs['baseline-found']).toBe('true')
        // a second entry, saved where zstd is, read where it is not
        writeFileSync(
          join(world.workspace, 'tools.Dockerfile'),
          `FROM ${world.hub.host}/library/python:3.13-slim\n`
        )
        const added = await anotherRunner(world, cache).runJob()
        expect(added.post!.status).toBe(0)
        expect(cache.keysIn(MAIN)).toHaveLength(2)
        await world.movePython312()
        const back = await anotherRunner(world, cache).runJob({}, without)
        expect(back.main.outputs['baseline-found']).toBe('true')
        expect(back.main.status).toBe(1)
        expect(drifted(back)).toEqual(['Dockerfile'])
      } finally {
        noZstd.dispose()
      }
    }))

  it("on GHES's cache protocol (v1) the same entry restores on a runner without zstd, and the merge holds", async () => {
    const world = new World()
    const cache = new CacheService('v1')
    await world.start()
    await cache.start()
    const runner = new ActionRunner(world.workspace, cache.env, node)
    const noZstd = pathWithoutZstd()
    try {
      expect(cache.env).toEqual({ ACTIONS_CACHE_URL: cache.url })
      const saved = await runner.runJob()
      expect(saved.post!.status).toBe(0)
      await world.movePython312()
      const container = await runner.runJob({}, { PATH: noZstd.path }, on.pullRequest(6))
      expect(container.main.outputs['baseline-found']).toBe('true')
      expect([container.main.status, drifted(container)]).toEqual([1, ['Dockerfile']])
      // an entry saved where zstd is missing restores where it is
      const accepted = await runner.runJob({ accept: 'true' }, { PATH: noZstd.path }, on.dispatch())
      expect(accepted.post!.status).toBe(0)
      expect(cache.keysIn(MAIN)).toHaveLength(2)
      const hosted = await runner.runJob({}, {}, on.pullRequest(6))
      expect([hosted.main.status, drifted(hosted)]).toEqual([0, []])
    } finally {
      noZstd.dispose()
      runner.dispose()
      await cache.stop()
      await world.stop()
    }
  })

  it('a run that changed nothing saves nothing: the newest entry already holds it', () =>
    scenario(async (_world, runner, cache) => {
      await runner.runJob()
      const again = await runner.runJob({}, workflow('nightly.yml', 'scan'), on.schedule())
      expect(again.post!.stdout).toMatch(/baseline not saved: the newest one \(\S+\) already holds/)
      expect(cache.keysIn(MAIN)).toHaveLength(1)
    }))
})
