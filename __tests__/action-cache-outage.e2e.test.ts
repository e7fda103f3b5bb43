import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CacheService } from './harness/cache-service.js'
import { ActionRunner } from './helpers/action-runner.js'
import { statuses, World } from './helpers/drift-world.js'
import { NODES } from './helpers/run.js'

/** The Actions cache failing or moving between runners: the baseline is never lost. */
describe.each(NODES)('the action under %s, with the Actions cache', (_, node) => {
  const world = new World()
  const cache = new CacheService()
  let runner: ActionRunner
  beforeAll(async () => {
    await world.start()
    await cache.start()
    runner = new ActionRunner(world.workspace, cache.env, node)
  })
  afterAll(async () => {
    runner.dispose()
    await cache.stop()
    await world.stop()
  })

  it('a cache outage warns that drift could not be checked, saves nothing, and costs seconds; the next run compares with the last good baseline', async () => {
    const first = await runner.runJob()
    expect(first.main.status).toBe(0)
    expect(cache.savedKeys).toHaveLength(1)

    await world.movePython312()
    cache.failAll = 500
    const started = performance.now()
    // each cache call's deadline is the input timeout
    const outage = await runner.runJob({ timeout: '3' })
    const seconds = (performance.now() - started) / 1000
    cache.failAll = null
    expect(outage.main.status).toBe(0)
    expect(outage.main.outputs['baseline-found']).toBe('false')
    expect(outage.main.commands.filter(c => c.command === 'error')).toEqual([])
    const warnings = outage.main.commands.filter(c => c.command === 'warning')
    expect(warnings.map(w => w.message)).toEqual([
      expect.stringMatching(
        /^the baseline cache could not be read \(.+\), so drift could not be checked; no baseline is saved by this run, and the next run compares with the last good one$/
      )
    ])
    expect(outage.post!.commands.filter(c => c.command === 'warning')).toEqual([])
    expect(cache.savedKeys).toHaveLength(1)
    // the library retries for about 25 s per call; the step gives up at its 3 s deadline
    expect(seconds).toBeLessThan(10)

    const next = await runner.runJob()
    expect(next.main.status).toBe(1)
    expect(statuses(next)).toEqual({ 1: 'drifted', 4: 'unchanged' })
  }, 60_000)

  it('finds the baseline again after a change of runner (another RUNNER_TEMP)', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'bid-other-runner-temp-'))
    try {
      const recorded = await runner.runJob({ 'cache-key': 'moved-runner-' })
      expect(recorded.post!.status).toBe(0)
      const moved = await runner.runJob(
        { 'cache-key': 'moved-runner-' },
        { RUNNER_TEMP: elsewhere }
      )
      expect(moved.main.outputs['baseline-found']).toBe('true')
      expect(Object.values(statuses(moved))).not.toContain('new')
    } finally {
      rmSync(elsewhere, { recursive: true, force: true })
    }
  })
})

/** The action's process while it runs: found by its workspace, which only it has. */
function actionProcess(workspace: string): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
      if (!cmdline.includes('dist/index.js')) continue
      if (
        readFileSync(`/proc/${entry}/environ`, 'utf8').includes(`GITHUB_WORKSPACE=${workspace}\0`)
      )
        return Number(entry)
    } catch {
      // gone, or not ours to read
    }
  }
  return null
}

describe('the cache deadline against a step held busy', () => {
  it('a step frozen for longer than its cache deadline while the restore waits still finds the baseline', async () => {
    const world = new World()
    const cache = new CacheService()
    await world.start()
    await cache.start()
    const runner = new ActionRunner(world.workspace, cache.env)
    try {
      expect((await runner.runJob()).post!.status).toBe(0)
      // the restore is in flight when the process stops running, as it is while a long scan holds the event loop
      cache.latencyMs = 1000
      // a restore is two requests: 2 s of answers inside a 4 s deadline
      const job = runner.runJob({ timeout: '4' })
      let pid: number | null = null
      for (let i = 0; i < 100 && pid === null; i++) {
        await new Promise(resolve => setTimeout(resolve, 20))
        pid = actionProcess(world.workspace)
      }
      expect(pid).not.toBeNull()
      await new Promise(resolve => setTimeout(resolve, 300))
      process.kill(pid!, 'SIGSTOP')
      await new Promise(resolve => setTimeout(resolve, 5_000))
      process.kill(pid!, 'SIGCONT')
      const held = await job
      expect(held.main.outputs['baseline-found']).toBe('true')
      expect(held.main.commands.filter(c => c.command === 'warning')).toEqual([])
    } finally {
      runner.dispose()
      await cache.stop()
      await world.stop()
    }
  }, 60_000)
})
