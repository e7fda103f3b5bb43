import { CacheService } from './harness/cache-service.js'
import { ActionRunner } from './helpers/action-runner.js'
import { statuses, World } from './helpers/drift-world.js'
import { NODES } from './helpers/run.js'

/** The Actions cache service failing, kept apart: the library's retries make it the slowest scenario. */
describe.each(NODES)('the action under %s, with the cache service failing', (_, node) => {
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

  it('gives a warning, and the job ends as it would without a baseline', async () => {
    cache.failAll = 500
    const job = await runner.runJob({ platforms: 'linux/amd64' })
    expect(job.main.status).toBe(0)
    expect(statuses(job)).toEqual({ 1: 'new', 4: 'new' })
    expect(job.main.outputs['baseline-found']).toBe('false')
    expect(job.main.summary).toMatch(
      /^## No baseline to compare with, nothing compared \(2 images\): baseline cache unavailable \(/
    )
    expect(job.main.commands.filter(c => c.command === 'error')).toEqual([])
    const cacheWarnings = job.main.commands.filter(
      c => c.command === 'warning' && c.message.includes('cache')
    )
    expect(cacheWarnings).toHaveLength(1)
    expect(cacheWarnings[0].message).toMatch(
      /^baseline cache unavailable \(.+\); comparing against nothing, the job result is unaffected$/
    )
    expect(job.post!.status).toBe(0)
    expect(job.post!.commands.filter(c => c.command === 'warning')).toHaveLength(1)
    expect(job.post!.commands.filter(c => c.command === 'error')).toEqual([])
  }, 180_000)
})
