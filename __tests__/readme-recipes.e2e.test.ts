import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'
import type { CacheService } from './harness/cache-service.js'
import type { ActionRunner, JobResult } from './helpers/action-runner.js'
import { inWorld, type World } from './helpers/drift-world.js'
import { NODES, ROOT } from './helpers/run.js'
import { on, type Trigger } from './helpers/trigger.js'

/**
 * Every workflow the README shows, as written: its triggers, its jobs' matrices and the
 * inputs of its base-image-drift step, run through the bundled action and the cache service
 * emulator as a team meets it: record on main, upstream moves, the pull request fails, the
 * drift is accepted, the pull request passes.
 */
const [, node] = NODES[NODES.length - 1]

interface Recipe {
  name: string
  on: Record<string, unknown>
  job: string
  /** Each matrix leg's values; one empty leg without a matrix. */
  legs: Record<string, string>[]
  with: Record<string, unknown>
}

interface RecipeJob {
  strategy?: { matrix?: Record<string, string[]> }
  steps: { uses?: string; with?: Record<string, unknown> }[]
}

function recipes(): Recipe[] {
  const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8')
  const blocks = [...readme.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map(m => m[1])
  const found: Recipe[] = []
  for (const block of blocks) {
    const workflow = parse(block) as Record<string, unknown> | null
    if (!workflow || typeof workflow !== 'object' || !('jobs' in workflow)) continue
    const triggers = workflow.on
    const on = (
      typeof triggers === 'string'
        ? { [triggers]: null }
        : Array.isArray(triggers)
          ? Object.fromEntries(triggers.map(t => [t, null]))
          : triggers
    ) as Record<string, unknown>
    for (const [job, spec] of Object.entries(workflow.jobs as Record<string, RecipeJob>)) {
      const step = spec.steps.find(s => String(s.uses).includes('base-image-drift'))
      if (!step) continue
      const matrix = spec.strategy?.matrix ?? {}
      const [axis] = Object.keys(matrix)
      found.push({
        name: String(workflow.name),
        on,
        job,
        legs: axis ? matrix[axis].map(value => ({ [axis]: value })) : [{}],
        with: step.with ?? {}
      })
    }
  }
  return found
}

/** The step's inputs as GitHub evaluates them for one event and matrix leg. */
function inputsFor(
  recipe: Recipe,
  event: string,
  leg: Record<string, string>,
  dispatched: Record<string, string> = {}
): Record<string, string> {
  const evaluate = (expression: string): string => {
    let m: RegExpExecArray | null
    if ((m = /^inputs\.([\w-]+)$/.exec(expression))) return dispatched[m[1]] ?? ''
    if ((m = /^matrix\.([\w-]+)$/.exec(expression))) return leg[m[1]]
    if ((m = /^secrets\.(\w+)$/.exec(expression))) return `secret-${m[1]}`
    if (expression === 'github.actor') return 'octocat'
    if ((m = /^github\.event_name (==|!=) '(\w+)'$/.exec(expression)))
      return String((event === m[2]) === (m[1] === '=='))
    throw new Error(`recipe "${recipe.name}": the expression ${expression} is new to this test`)
  }
  return Object.fromEntries(
    Object.entries(recipe.with).map(([name, value]) => [
      name,
      String(value).replace(/\$\{\{\s*(.+?)\s*\}\}/g, (_, e: string) => evaluate(e))
    ])
  )
}

const triggers = (recipe: Recipe) => Object.keys(recipe.on)
const recordingTrigger = (recipe: Recipe): Trigger | null =>
  triggers(recipe).includes('push')
    ? on.push()
    : triggers(recipe).includes('schedule')
      ? on.schedule()
      : null
const eventOf = (trigger: Trigger) => trigger.env.GITHUB_EVENT_NAME

const drifted = (job: JobResult) =>
  (JSON.parse(job.main.outputs.images) as { status: string; file: string }[])
    .filter(f => f.status === 'drifted')
    .map(f => f.file)
    .sort()

/** Services of the per-service recipe; python:3.12-slim is the image upstream moves. */
function layOut(world: World): void {
  const images: Record<string, string> = {
    api: `${world.hub.host}/library/python:3.12-slim`,
    worker: `${world.hub.host}/library/python:3.13-slim`,
    web: `${world.otherProxy.host}/team/base:1`
  }
  for (const [service, image] of Object.entries(images)) {
    mkdirSync(join(world.workspace, 'services', service), { recursive: true })
    writeFileSync(join(world.workspace, 'services', service, 'Dockerfile'), `FROM ${image}\n`)
  }
}

const ALL = recipes()
const QUICK_START = ALL[0]
const THE_CACHE = ALL.filter(r => !('lockfile' in r.with) && triggers(r).includes('pull_request'))

describe('the README recipes, run as written', () => {
  it('shows the quick start first, and every recipe records somewhere', () => {
    expect(QUICK_START.name).toBe('base images')
    expect(Object.keys(QUICK_START.on)).toEqual(
      expect.arrayContaining(['pull_request', 'push', 'schedule', 'workflow_dispatch'])
    )
    expect(ALL.length).toBeGreaterThanOrEqual(9)
    // a workflow that runs only on pull requests never records: no recipe may be one
    expect(ALL.filter(r => recordingTrigger(r) === null).map(r => r.name)).toEqual([])
  })

  it.each(THE_CACHE.map(r => [r.name, r] as const))(
    '%s: records on main, fails the pull request that drifted, passes once accepted',
    (_name, recipe) =>
      inWorld(node, async (world: World, runner: ActionRunner, _cache: CacheService) => {
        layOut(world)
        const env = {
          GITHUB_WORKFLOW_REF: `acme/shop/.github/workflows/recipe.yml@refs/heads/main`,
          GITHUB_JOB: recipe.job
        }
        const legs = async (trigger: Trigger, dispatched?: Record<string, string>) => {
          const jobs: JobResult[] = []
          for (const leg of recipe.legs)
            jobs.push(
              await runner.runJob(
                inputsFor(recipe, eventOf(trigger), leg, dispatched),
                { ...env, GITHUB_RUN_ID: String(5000 + jobs.length) },
                trigger
              )
            )
          return jobs
        }
        const recorded = await legs(recordingTrigger(recipe)!)
        expect(recorded.map(j => [j.main.status, j.post?.status])).toEqual(
          recipe.legs.map(() => [0, 0])
        )
        await world.movePython312()
        const pull = await legs(on.pullRequest(12))
        // the legs whose files hold the image that moved fail, and only they
        expect(pull.map(j => j.main.status).sort()).toEqual(
          recipe.legs.length > 1 ? [0, 0, 1] : [1]
        )
        expect(pull.flatMap(drifted)).toEqual(
          recipe.legs.length > 1
            ? ['services/api/Dockerfile']
            : ['Dockerfile', 'services/api/Dockerfile']
        )
        // the README's way to accept: the quick start's dispatch on main, read by every workflow
        const accepted = await runner.runJob(
          inputsFor(QUICK_START, 'workflow_dispatch', {}, { accept: 'python:3.12-slim' }),
          { GITHUB_WORKFLOW_REF: 'acme/shop/.github/workflows/base-images.yml@refs/heads/main' },
          on.dispatch()
        )
        expect(accepted.main.summary.split('\n')[0]).toMatch(/^## Accepted: 1 image recorded/)
        expect(accepted.post!.status).toBe(0)
        const again = await legs(on.pullRequest(12))
        expect(again.map(j => j.main.status)).toEqual(recipe.legs.map(() => 0))
      })
  )

  it('the rebuild recipe records the drift it rebuilds for, and fails nothing', () => {
    const recipe = ALL.find(r => r.with['on-drift'] === 'warn')!
    expect(triggers(recipe)).toEqual(['schedule'])
    return inWorld(node, async (world, runner) => {
      const nightly = () => runner.runJob(inputsFor(recipe, 'schedule', {}), {}, on.schedule())
      expect((await nightly()).post!.status).toBe(0)
      await world.movePython312()
      const moved = await nightly()
      expect([moved.main.status, moved.main.outputs.drifted]).toEqual([0, 'true'])
      expect(JSON.parse(moved.main.outputs.changes)).toHaveLength(1)
      expect(moved.post!.status).toBe(0)
      const after = await nightly()
      expect(after.main.outputs.drifted).toBe('false')
    })
  })

  it('the lockfile recipe commits only a real change: none on a push that changed nothing, the new file to commit on a drift', () => {
    const recipe = ALL.find(r => 'lockfile' in r.with)!
    return inWorld(node, async (world, runner) => {
      const lockfile = join(world.workspace, String(recipe.with.lockfile))
      const run = (trigger: Trigger) =>
        runner.runJob(inputsFor(recipe, eventOf(trigger), {}), {}, trigger)
      const first = await run(on.push())
      expect(first.main.status).toBe(0)
      const written = readFileSync(lockfile, 'utf8')
      // the next push, a minute or a week later, writes the same bytes: `git diff --cached --quiet` commits nothing
      const second = await run(on.push())
      expect(second.main.status).toBe(0)
      expect(readFileSync(lockfile, 'utf8')).toBe(written)
      // entries keep when and by which run they were recorded; the document has no time of its own
      expect(written).not.toMatch(/updatedAt/)

      await world.movePython312()
      const pull = await run(on.pullRequest(3))
      expect(pull.main.status).toBe(1)
      expect(readFileSync(lockfile, 'utf8')).toBe(written)
      // committing the lockfile the run offers is the acceptance
      writeFileSync(lockfile, pull.main.outputs.lockfile)
      const reviewed = await run(on.pullRequest(3))
      expect([reviewed.main.status, drifted(reviewed)]).toEqual([0, []])
    })
  })
})
