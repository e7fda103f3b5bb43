import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { parse } from 'yaml'
import { DEFAULTS } from '../src/config/defaults.js'
import { USAGE } from '../src/cli/args.js'
import { ACTION_OUTPUTS } from '../src/report/action-report.js'
import { DEFAULT_PATTERNS, SOURCES } from '../src/sources/index.js'
import { ROOT } from './helpers/run.js'

const read = (path: string) => readFileSync(resolve(ROOT, path), 'utf8')
const action = parse(read('action.yml')) as {
  inputs: Record<string, { default?: string }>
  outputs: Record<string, unknown>
  runs: Record<string, string>
}
const readme = read('README.md')

function sources(dir: string): string {
  return readdirSync(resolve(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter(entry => entry.isFile() && entry.name.endsWith('.ts'))
    .map(entry => readFileSync(join(entry.parentPath, entry.name), 'utf8'))
    .join('\n')
}

/** Names in the first column of the README table that follows `## heading`. */
function tableNames(heading: string): string[] {
  const section = readme.slice(readme.indexOf(`## ${heading}\n`))
  const table = section.slice(0, section.indexOf('\n\n', section.indexOf('|')))
  return [...table.matchAll(/^\|\s*`([a-z-]+)`\s*\|/gm)].map(m => m[1])
}

describe('action.yml, the README and the code agree', () => {
  const code = sources('src')
  const readByCode = [
    ...code.matchAll(/(?:core\.get(?:Multiline|Boolean)?Input|booleanInput)\('([a-z-]+)'/g)
  ].map(m => m[1])

  it('every declared input is read by the code and documented; nothing else is read', () => {
    const declared = Object.keys(action.inputs).sort()
    expect([...new Set(readByCode)].sort()).toEqual(declared)
    expect(tableNames('Inputs').sort()).toEqual(declared)
  })

  it('every declared output is set by the code and documented', () => {
    const declared = Object.keys(action.outputs).sort()
    expect([...ACTION_OUTPUTS].sort()).toEqual(declared)
    expect(tableNames('Outputs').sort()).toEqual(declared)
  })

  // the Inputs table: input, type, default, meaning
  it('action.yml, the README and the CLI give the same defaults as the code', () => {
    const readmeDefault = (input: string) =>
      new RegExp(`^\\|\\s*\`${input}\`\\s*\\|[^|]*\\|\\s*\`([^\`]*)\``, 'm').exec(readme)?.[1]
    for (const [input, value] of [
      ['timeout', String(DEFAULTS.timeoutSeconds)],
      ['on-drift', DEFAULTS.onDrift],
      ['on-error', DEFAULTS.onError],
      ['comment', DEFAULTS.comment],
      ['explain-budget', String(DEFAULTS.explainBudgetMiB)],
      ['fail-on', DEFAULTS.failOn]
    ]) {
      expect([input, action.inputs[input].default]).toEqual([input, value])
      expect([input, readmeDefault(input)]).toEqual([input, value])
    }
    expect(USAGE).toContain(`(default ${DEFAULTS.timeoutSeconds})`)
    expect(USAGE).toContain(`(default ${DEFAULTS.baselineFile})`)
    expect(USAGE).toContain(`(default ${DEFAULTS.failOn})`)
    expect(USAGE).toContain(`(default ${DEFAULTS.explainBudgetMiB};`)
  })

  it('the README lists the default patterns of every source and every kind of reference', () => {
    const patterns = readme.slice(readme.indexOf('Default `files`:'))
    const listed = [...patterns.slice(0, patterns.indexOf('; never')).matchAll(/`([^`]+)`/g)]
      .map(m => m[1])
      .filter(p => p !== 'files')
    expect([...listed].sort()).toEqual([...DEFAULT_PATTERNS].sort())
    const kinds = SOURCES.flatMap(s => s.kinds)
    // a kind two sources share (a named build context) is one row
    expect(tableNames('What is read').sort()).toEqual([...new Set(kinds.map(k => k.name))].sort())
    for (const kind of kinds) expect(readme).toContain(`| ${kind.description}`)
  })

  it('runs on node24 with main and post, post only after success', () => {
    expect(action.runs).toEqual({
      using: 'node24',
      main: 'dist/index.js',
      post: 'dist/index.js',
      'post-if': 'success()'
    })
  })
})

interface Workflow {
  on: unknown
  jobs: Record<
    string,
    { 'runs-on': string; steps: { uses?: string; run?: string; with?: Record<string, unknown> }[] }
  >
}

/** Every workflow a user may copy: the README's YAML blocks with jobs, and .github/workflows. */
function workflows(): [string, Workflow][] {
  const fromReadme = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map(m => parse(m[1]) as Workflow)
    .filter(w => w && typeof w === 'object' && 'jobs' in w)
    .map((w, i): [string, Workflow] => [`README workflow ${i + 1}`, w])
  const dir = resolve(ROOT, '.github/workflows')
  const fromRepo = readdirSync(dir).map((f): [string, Workflow] => [
    `.github/workflows/${f}`,
    parse(readFileSync(join(dir, f), 'utf8')) as Workflow
  ])
  return [...fromReadme, ...fromRepo]
}

describe('every workflow in the README and .github/workflows', () => {
  const all = workflows()

  it('includes every recipe: each YAML block with jobs parses as a workflow', () => {
    const blocksWithJobs = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].filter(m =>
      /^jobs:/m.test(m[1])
    ).length
    expect(blocksWithJobs).toBeGreaterThanOrEqual(10)
    expect(all.filter(([name]) => name.startsWith('README')).length).toBe(blocksWithJobs)
  })

  it.each(all)(
    '%s parses, uses only declared inputs, and pins third-party actions to a release',
    (_, workflow) => {
      const events =
        typeof workflow.on === 'string' ? [workflow.on] : Object.keys(workflow.on ?? {})
      expect(events.length).toBeGreaterThan(0)
      for (const job of Object.values(workflow.jobs)) {
        expect(job['runs-on']).toBeTruthy()
        for (const step of job.steps) {
          expect(Boolean(step.uses) !== Boolean(step.run)).toBe(true)
          if (!step.uses) continue
          if (step.uses === './' || step.uses.startsWith('base-image-drift/base-image-drift@')) {
            for (const input of Object.keys(step.with ?? {}))
              expect(Object.keys(action.inputs)).toContain(input)
          } else {
            expect(step.uses).toMatch(/^[\w.-]+\/[\w.-]+@v\d+(\.\d+){0,2}$/)
          }
        }
      }
    }
  )
})

describe('the folders of src/ show the data flow', () => {
  const SRC = resolve(ROOT, 'src')
  /** Module → the modules it imports, as paths (types included). */
  const modules = new Map<string, string[]>()
  for (const entry of readdirSync(SRC, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue
    const path = join(entry.parentPath, entry.name)
    const text = readFileSync(path, 'utf8')
    modules.set(
      path,
      [...text.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)].map(m =>
        resolve(entry.parentPath, `${m[1]}.ts`)
      )
    )
  }
  const folderOf = (module: string) => relative(SRC, dirname(module))
  /**
   * Folder (`sources/dockerfile`) → the folders its modules import; and the same by stage
   * (`sources`). The top level's modules are entry points and shared leaves.
   */
  const folders = new Map<string, Set<string>>()
  const stages = new Map<string, Set<string>>()
  for (const [module, targets] of modules) {
    const from = folderOf(module)
    if (from === '') continue
    for (const to of targets.map(folderOf)) {
      if (to === '' || to === from) continue
      folders.set(from, (folders.get(from) ?? new Set()).add(to))
      const [stage, target] = [from.split('/')[0], to.split('/')[0]]
      if (stage !== target) stages.set(stage, (stages.get(stage) ?? new Set()).add(target))
    }
  }

  it('no folder imports one that imports it back, however far round, parent and child folders included', () => {
    const reaches = (from: string, to: string, seen = new Set<string>()): boolean =>
      [...(folders.get(from) ?? [])].some(
        next => next === to || (!seen.has(next) && (seen.add(next), reaches(next, to, seen)))
      )
    const cycles = [...folders.keys()].filter(folder => reaches(folder, folder))
    expect(cycles).toEqual([])
  })

  it('no module imports one that imports it back, however far round', () => {
    const onPath = new Set<string>()
    const done = new Set<string>()
    const cycles: string[] = []
    const visit = (module: string): void => {
      if (done.has(module)) return
      if (onPath.has(module)) {
        cycles.push(relative(SRC, module))
        return
      }
      onPath.add(module)
      for (const next of modules.get(module) ?? []) visit(next)
      onPath.delete(module)
      done.add(module)
    }
    for (const module of modules.keys()) visit(module)
    expect(cycles).toEqual([])
  })

  it('sources → resolve → compare → explain → decide → report: no stage imports a later one', () => {
    const flow = ['sources', 'resolve', 'compare', 'explain', 'decide', 'report']
    const backwards = flow.flatMap((stage, i) =>
      flow
        .slice(i + 1)
        .flatMap(later => (stages.get(stage)?.has(later) ? [`${stage} → ${later}`] : []))
    )
    expect(backwards).toEqual([])
  })
})

describe('the action as the typescript-action template has it', () => {
  // @github/local-action imports the entry it is given and calls its run(): importing runs nothing
  it('src/main.ts exports run() and does nothing on import', async () => {
    const exitCode = process.exitCode
    const main = (await import('../src/main.js')) as { run?: unknown }
    expect(typeof main.run).toBe('function')
    expect(process.exitCode).toBe(exitCode)
  })
})
