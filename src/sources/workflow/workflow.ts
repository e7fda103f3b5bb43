/**
 * GitHub workflows: job containers, services, docker:// steps, and the builds their steps run.
 */
import { posix } from 'node:path'
import { isMap, isScalar, isSeq, type Node, type YAMLMap } from 'yaml'
import { bakeSource } from '../bake/bake.js'
import { composeSource } from '../compose/compose.js'
import { dockerfileSource } from '../dockerfile/dockerfile.js'
import { deref, field, positionOf, scalarText } from '../read/yaml.js'
import { prefixedValueSite, valueSite, yamlScalarAt } from '../read/pin-site.js'
import { substitute } from './expressions.js'
import { MAX_MATRIX, matrixOf, type Combination } from './matrix.js'
import { parsePlatform, PlatformError } from '../../reference/platform.js'
import {
  imageOrError,
  isRemoteContext,
  follow,
  type Follow,
  type ReferenceKindSpec,
  type Source,
  type ScanProblem,
  type SourceScan,
  scanYaml
} from '../read/source.js'

/** A job's or step's image, pinned where it is written; an expression is set elsewhere. */
const locateValue: ReferenceKindSpec['locate'] = (file, reference) => {
  const scalar = yamlScalarAt(file, reference.line, reference.column)
  if ('unpinnable' in scalar) return scalar
  return file.text.slice(scalar.start, scalar.end).includes('${{')
    ? EXPRESSION
    : valueSite(file, scalar.start, scalar.end)
}

const EXPRESSION = {
  unpinnable: 'its image is an expression (`${{ … }}`): pin it where the value is set'
}

/**
 * GitHub Actions workflows: job containers and service containers, `docker://` steps, and
 * the Dockerfiles `docker/build-push-action` builds, with its build args and named contexts.
 */
export const workflowSource: Source = {
  name: 'workflow',
  patterns: ['.github/workflows/*.y?(a)ml'],
  looksLike: text => /^["']?jobs["']?[ \t]*:/m.test(text),
  follows: [bakeSource, composeSource, dockerfileSource],
  kinds: [
    {
      name: 'workflow-container',
      description: "a workflow job's `container:` (or `container.image`)",
      fence: 'yaml',
      locate: locateValue
    },
    {
      name: 'workflow-service',
      description: "a workflow job's `services.NAME` (or `services.NAME.image`)",
      fence: 'yaml',
      locate: locateValue
    },
    {
      name: 'workflow-step',
      description: 'a workflow step that runs `uses: docker://IMAGE`',
      fence: 'yaml',
      locate: locateValue
    },
    {
      name: 'build-context',
      description:
        'a `build-contexts` entry `NAME=docker-image://IMAGE` of `docker/build-push-action` (a Dockerfile `FROM NAME` is that image)',
      fence: 'yaml',
      locate: (file, reference) =>
        /\$\{\{/.test(reference.source)
          ? EXPRESSION
          : prefixedValueSite(file, reference, 'docker-image://')
    }
  ],
  scan: (file, text) => scanWorkflow(file, text)
}

/** The most jobs one workflow file's matrices expand to, all jobs together. */
export const MAX_WORKFLOW_LEGS = 4096

/** What the parts of a workflow's scan share: the file, where a node is, what they fill. */
interface WorkflowReading {
  file: string
  at: (node: Node) => { line: number; col: number }
  result: SourceScan
  /** A map's value at a key, aliases resolved: GitHub reads anchors and aliases in workflows. */
  get: (map: unknown, key: string) => Node | undefined
  /** A node, or what the alias it is points to. */
  resolve: (node: unknown) => Node | undefined
  /** Jobs the file's matrices may still expand to. */
  legsLeft: number
}

/** A job's literal values: its env (with the workflow's), and its matrix combinations. */
interface JobValues {
  jobId: string
  env: Record<string, string>
  combinations: Combination[] | null
}

/** The `env:` entries of a workflow, job or step whose values are literal. */
function literalEnv({ get }: WorkflowReading, map: unknown): Record<string, string> {
  const env: Record<string, string> = {}
  const node = get(map, 'env')
  if (isMap(node))
    for (const pair of node.items)
      if (isScalar(pair.key) && isScalar(pair.value) && !String(pair.value.value).includes('${{'))
        env[String(pair.key.value)] = String(pair.value.value)
  return env
}

/** Every image a workflow pulls, with the literal values of its matrix. Pure. */
export function scanWorkflow(file: string, content: string): SourceScan {
  return scanYaml(file, content, ({ document, lineCounter }, result) => {
    const reading: WorkflowReading = {
      file,
      at: (node: Node) => positionOf(lineCounter, node),
      result,
      get: (map, key) => (isMap(map) ? field(document, map, key) : undefined),
      resolve: node => deref(document, node),
      legsLeft: MAX_WORKFLOW_LEGS
    }
    const root = document.contents
    const workflowEnv = literalEnv(reading, root)
    const jobs = reading.get(root, 'jobs')
    if (!isMap(jobs)) return
    for (const jobPair of jobs.items) {
      const job = reading.resolve(jobPair.value)
      if (isMap(job) && isScalar(jobPair.key))
        scanJob(reading, String(jobPair.key.value), job, workflowEnv)
      if (reading.legsLeft < 0) break
    }
  })
}

function scanJob(
  reading: WorkflowReading,
  jobId: string,
  job: YAMLMap,
  workflowEnv: Record<string, string>
): void {
  const { file, at, result, get } = reading
  const matrixNode = get(get(job, 'strategy'), 'matrix')
  const combinations = matrixOf(matrixNode)
  if (combinations !== null && 'tooMany' in combinations) {
    // GitHub refuses the run; expanding it would cost time and memory exponential in its size
    result.errors.push({
      file,
      line: matrixNode ? at(matrixNode).line : 1,
      message: `job "${jobId}": its matrix has ${combinations.tooMany} combinations, more than the ${MAX_MATRIX} GitHub runs; not expanded`
    })
    return
  }
  // one budget for the file: thousands of jobs sharing one matrix through an alias are as
  // many expansions as their legs
  const legs = Math.max(1, combinations?.length ?? 1)
  reading.legsLeft -= legs
  if (reading.legsLeft < 0) {
    result.errors.push({
      file,
      // the job's own line: a matrix shared through an alias is written elsewhere
      line: at(job).line,
      message: `job "${jobId}": the workflow's jobs and matrices make more than ${MAX_WORKFLOW_LEGS} jobs; this job and the ones after it are not read`
    })
    return
  }
  const values: JobValues = {
    jobId,
    env: { ...workflowEnv, ...literalEnv(reading, job) },
    combinations
  }
  const container = get(job, 'container')
  if (isMap(container))
    addImage(reading, values, get(container, 'image'), 'workflow-container', 'image')
  else addImage(reading, values, container, 'workflow-container', 'container')
  const services = get(job, 'services')
  if (isMap(services))
    for (const pair of services.items) {
      const service = reading.resolve(pair.value)
      if (isMap(service))
        addImage(reading, values, get(service, 'image'), 'workflow-service', 'image')
      else
        addImage(
          reading,
          values,
          service,
          'workflow-service',
          isScalar(pair.key) ? String(pair.key.value) : 'service'
        )
    }
  const steps = get(job, 'steps')
  if (!isSeq(steps)) return
  const jobWorkdir = scalarText(get(get(get(job, 'defaults'), 'run'), 'working-directory'))
  steps.items.forEach((item, index) => {
    const step = reading.resolve(item)
    const run = get(step, 'run')
    if (isScalar(run) && typeof run.value === 'string')
      result.follows.push(
        ...composeRuns(reading, run.value, {
          env: { ...values.env, ...literalEnv(reading, step) },
          workdir: scalarText(get(step, 'working-directory')) ?? jobWorkdir,
          by: `job "${jobId}" step ${index + 1}`,
          line: reading.at(run).line
        })
      )
    const uses = get(step, 'uses')
    if (!isScalar(uses) || typeof uses.value !== 'string') return
    if (uses.value.startsWith('docker://')) addImage(reading, values, uses, 'workflow-step', 'uses')
    else if (/^docker\/bake-action@/.test(uses.value))
      bakeStep(
        reading,
        get(step, 'with'),
        `job "${jobId}" step ${index + 1} (docker/bake-action)`,
        at(uses).line
      )
    else if (/^docker\/build-push-action@/.test(uses.value))
      result.follows.push(
        ...buildPushStep(
          reading,
          get(step, 'with'),
          `job "${jobId}" step ${index + 1} (docker/build-push-action)`,
          at(uses).line,
          { env: { ...values.env, ...literalEnv(reading, step) }, combinations }
        )
      )
  })
}

/** A `docker compose` (or `docker-compose`) command, up to the end of its line or its `\` continuations. */
const COMPOSE_COMMAND = /(?:^|[\s;&|(])docker(?:-compose|[ \t]+compose)\b((?:\\\r?\n|[^\n])*)/g

/**
 * The Compose files a `run:` script's `docker compose` commands name, with `-f`/`--file`, or
 * else `COMPOSE_FILE` from the literal env (split on `:`, compose-go's separator on Linux):
 * the first is followed as the project with the others merged over it, in order, the others
 * as part of it. Paths are relative to the step's working directory. A path known only at run
 * time is left out; with no file named, the folder's default files are read anyway.
 */
function composeRuns(
  { file, result }: WorkflowReading,
  script: string,
  {
    env,
    workdir,
    by,
    line
  }: { env: Record<string, string>; workdir: string | null; by: string; line: number }
): Follow[] {
  const follows: Follow[] = []
  for (const match of script.matchAll(COMPOSE_COMMAND)) {
    const words = match[1]
      .replace(/\\\r?\n/g, ' ')
      .split(/[ \t]+/)
      .filter(Boolean)
    const named: string[] = []
    for (let i = 0; i < words.length; i++) {
      const word = words[i]
      if (/^[;&|]/.test(word)) break
      if (word === '-f' || word === '--file') named.push(words[++i] ?? '')
      else if (word.startsWith('--file=')) named.push(word.slice('--file='.length))
    }
    const files = (named.length > 0 ? named : (env.COMPOSE_FILE ?? '').split(':'))
      .map(f => f.replace(/^(["'])(.*)\1$/, '$2'))
      .filter(Boolean)
    if (files.length === 0) continue
    const paths = files.map(f => (f.startsWith('/') ? f : posix.join(workdir ?? '.', f)))
    if (paths.some(f => /[$`*?]/.test(f))) {
      result.notices.push({
        file,
        line,
        message: `${by}: docker compose files ${files.join(', ')} are set at run time, not checked as one project`
      })
      continue
    }
    const [project, ...overrides] = paths
    follows.push(
      follow(
        composeSource,
        { overrides },
        { path: project, fromRoot: true, verb: 'names', by, line }
      ),
      ...overrides.map(path =>
        follow(
          composeSource,
          { partOf: project },
          { path, fromRoot: true, verb: 'names', by, line }
        )
      ),
      // `docker compose` in that folder without `-f` merges its override file over it
      follow(
        composeSource,
        { asDefault: true },
        { path: project, fromRoot: true, verb: 'names', by, line }
      )
    )
  }
  return follows
}

/** One reference per value an image takes: as written, or with literal env and matrix values filled in. */
function addImage(
  { file, at, result }: WorkflowReading,
  { env, combinations }: JobValues,
  node: Node | undefined,
  kind: string,
  key: string
): void {
  if (!isScalar(node) || typeof node.value !== 'string') return
  const raw = node.value
  const { line, col } = at(node)
  // GitHub drops `docker://` from a step's `uses`, and from a job's or service's container
  // image too (actions/runner's PipelineTemplateConverter.ConvertToJobContainer)
  const image = raw.startsWith('docker://') ? raw.slice('docker://'.length) : raw
  const values = substitute(image, env, combinations)
  if ('runtime' in values) {
    result.notices.push({
      file,
      line,
      message: `${key}: ${raw} is set at run time (${values.runtime}), not checked`
    })
    return
  }
  for (const text of values.texts)
    result.references.push({
      file,
      line,
      column: col,
      kind,
      source: `${key}: ${raw}`,
      ...imageOrError(text)
    })
}

/** The Bake files a `docker/bake-action` step runs, read as it runs them. */
function bakeStep(
  { file, result, get }: WorkflowReading,
  inputs: Node | undefined,
  by: string,
  line: number
): void {
  const text = (name: string) => scalarText(get(inputs, name)) ?? ''
  const list = (name: string) =>
    text(name)
      .split(/[\n,]/)
      .map(f => f.trim())
      .filter(Boolean)
  for (const name of list('files')) {
    if (name.includes('${{')) {
      result.notices.push({ file, line, message: `${by}: ${name} is set at run time, not checked` })
      continue
    }
    const workdir = posix.normalize(text('workdir') || '.')
    result.follows.push(
      // Bake resolves context and dockerfile against where it runs, not the file's folder
      follow(
        bakeSource,
        { workdir, targets: list('targets') },
        { path: posix.join(workdir, name), fromRoot: true, verb: 'names', by, line }
      )
    )
  }
}

/** The Dockerfile a `docker/build-push-action` step builds, with its args and named contexts. */
function buildPushStep(
  reading: WorkflowReading,
  inputs: Node | undefined,
  by: string,
  line: number,
  literal: { env: Record<string, string>; combinations: Combination[] | null }
): Follow[] {
  const { file, result, get } = reading
  const input = (name: string): { text: string; node: Node } | null => {
    const node = get(inputs, name)
    return isScalar(node) && node.value !== null ? { text: String(node.value), node } : null
  }
  const rawContext = input('context')?.text ?? '.'
  const rawFile = input('file')?.text
  const rawArgs = lines(input('build-args')?.text)
  const rawPlatforms = input('platforms')
  // one build per matrix combination its inputs name, literal env and matrix values filled in
  const matrixUsed = [rawContext, rawFile ?? '', rawPlatforms?.text ?? '', ...rawArgs].some(t =>
    /\$\{\{\s*matrix\./.test(t)
  )
  const variants = matrixUsed && literal.combinations?.length ? literal.combinations : [{}]
  const builds = new Map<
    string,
    { context: string; file?: string; args: Record<string, string>; platforms: string[] }
  >()
  const platformsOf = stepPlatforms(reading, rawPlatforms, by, line, literal.env)
  for (const variant of variants) {
    const one = (text: string) => substitute(text, literal.env, [variant])
    const filled = [rawContext, rawFile ?? ''].map(one)
    const runtime = filled.find(f => 'runtime' in f || f.texts.length !== 1)
    if (runtime) {
      result.notices.push({
        file,
        line,
        message: `${by}: ${'runtime' in runtime ? runtime.runtime : rawContext} is set at run time, not checked`
      })
      return []
    }
    const [context, dockerfile] = filled.map(f => ('texts' in f ? f.texts[0] : ''))
    const args: Record<string, string> = {}
    for (const entry of rawArgs) {
      const eq = entry.indexOf('=')
      const value = one(entry.slice(eq + 1))
      // an arg known only at run time is left out: the Dockerfile's default applies
      if (eq > 0 && 'texts' in value && value.texts.length === 1)
        args[entry.slice(0, eq).trim()] = value.texts[0]
    }
    const build = {
      context,
      ...(rawFile !== undefined ? { file: dockerfile } : {}),
      args,
      platforms: platformsOf(variant)
    }
    builds.set(JSON.stringify(build), build)
  }
  const context = [...builds.values()][0].context
  if (isRemoteContext(context)) {
    result.notices.push({
      file,
      line,
      message: `${by}: a remote build context (${context}) is not checked`
    })
    return []
  }
  const contexts = buildContexts(reading, input('build-contexts'))
  return [...builds.values()].map(({ platforms, ...build }) =>
    follow(
      dockerfileSource,
      { buildArgs: build.args, contexts, ...(platforms.length > 0 ? { platforms } : {}) },
      {
        path: build.file ?? `${build.context.replace(/\/+$/, '')}/Dockerfile`,
        fromRoot: true,
        verb: 'builds',
        by,
        line
      }
    )
  )
}

/**
 * A build-push-action step's `platforms` (a comma or newline list, as docker/actions-toolkit's
 * `getInputList` reads it), normalized, for one matrix combination: what the build targets.
 * Empty when it names none or they are known only at run time (a notice, each said once): the
 * run's platforms apply then.
 */
function stepPlatforms(
  { file, result }: WorkflowReading,
  input: { text: string } | null,
  by: string,
  line: number,
  env: Record<string, string>
): (combination: Combination) => string[] {
  const said = new Set<string>()
  const sayOnce = (problem: ScanProblem, to: ScanProblem[]) => {
    if (!said.has(problem.message)) to.push(problem)
    said.add(problem.message)
  }
  return combination => {
    if (!input) return []
    const filled = substitute(input.text, env, [combination])
    if ('runtime' in filled || filled.texts.length !== 1) {
      sayOnce(
        {
          file,
          line,
          message: `${by}: platforms ${input.text} are set at run time; the run's platforms are tracked`
        },
        result.notices
      )
      return []
    }
    try {
      const listed = lines(filled.texts[0]).flatMap(l => l.split(','))
      return [
        ...new Set(
          listed
            .map(p => p.trim())
            .filter(Boolean)
            .map(p => parsePlatform(p))
        )
      ]
    } catch (error) {
      if (!(error instanceof PlatformError)) throw error
      sayOnce(
        {
          file,
          line,
          message: `${by}: platforms: ${error.message}; the run's platforms are tracked`
        },
        result.warnings
      )
      return []
    }
  }
}

/** The `build-contexts` of a step: each `NAME=docker-image://IMAGE` a reference on its own line; the names. */
function buildContexts(
  { file, at, result }: WorkflowReading,
  named: { text: string; node: Node } | null
): string[] {
  if (named === null) return []
  const contexts: string[] = []
  const offsetOf = lineOffsets(named.text)
  const { line: valueLine, col } = at(named.node)
  // a block scalar's text starts on the line after its indicator
  const firstLine =
    valueLine + (isScalar(named.node) && String(named.node.type).startsWith('BLOCK') ? 1 : 0)
  for (const entry of lines(named.text)) {
    const match = /^([^=\s]+)=docker-image:\/\/(.+)$/.exec(entry)
    if (!match) continue
    contexts.push(match[1])
    result.references.push({
      file,
      line: firstLine + offsetOf(entry),
      column: col,
      kind: 'build-context',
      source: `${match[1]}=docker-image://${match[2]}`,
      ...imageOrError(match[2])
    })
  }
  return contexts
}

function lines(text: string | undefined): string[] {
  return (text ?? '')
    .split('\n')
    .map(l => l.trim())
    .filter(l => l !== '' && !l.startsWith('#'))
}

/** Which line of a multiline value each entry is first on, from the value's first line: indexed once. */
function lineOffsets(text: string): (entry: string) => number {
  const first = new Map<string, number>()
  text.split('\n').forEach((line, index) => {
    if (!first.has(line.trim())) first.set(line.trim(), index)
  })
  return entry => first.get(entry) ?? 0
}
