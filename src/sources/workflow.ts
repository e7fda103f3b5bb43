/**
 * GitHub workflows: job containers, services, docker:// steps, and the builds their steps run.
 */
import { posix } from 'node:path'
import { isMap, isScalar, isSeq, type Node, type YAMLMap } from 'yaml'
import { bakeSource } from './bake.js'
import { dockerfileSource } from './dockerfile.js'
import { parseYaml } from './yaml.js'
import { formatReference } from '../reference/reference.js'
import {
  imageOrError,
  isRemoteContext,
  pinWord,
  emptyScan,
  follow,
  type Follow,
  type FoundReference,
  type ReferenceKindSpec,
  type Source,
  type SourceScan
} from './source.js'

/** The line as written (`key: value`), its value the image in full pinned to the digest. */
const pinValue: ReferenceKindSpec['pin'] = (reference, digest) => {
  const key = reference.source.slice(0, reference.source.indexOf(': '))
  const prefix = reference.source.slice(key.length + 2).startsWith('docker://') ? 'docker://' : ''
  return `${key}: ${prefix}${pinWord(formatReference({ ...reference.image, digest: undefined }), digest)}`
}

/**
 * GitHub Actions workflows: job containers and service containers, `docker://` steps, and
 * the Dockerfiles `docker/build-push-action` builds, with its build args and named contexts.
 */
export const workflowSource: Source = {
  name: 'workflow',
  patterns: ['.github/workflows/*.y?(a)ml'],
  looksLike: text => /^["']?jobs["']?[ \t]*:/m.test(text),
  follows: [bakeSource, dockerfileSource],
  kinds: [
    {
      name: 'workflow-container',
      description: "a workflow job's `container:` (or `container.image`)",
      fence: 'yaml',
      pin: pinValue
    },
    {
      name: 'workflow-service',
      description: "a workflow job's `services.NAME` (or `services.NAME.image`)",
      fence: 'yaml',
      pin: pinValue
    },
    {
      name: 'workflow-step',
      description: 'a workflow step that runs `uses: docker://IMAGE`',
      fence: 'yaml',
      pin: pinValue
    },
    {
      name: 'build-context',
      description:
        'a `build-contexts` entry `NAME=docker-image://IMAGE` of `docker/build-push-action` (a Dockerfile `FROM NAME` is that image)',
      fence: 'yaml',
      pin: (reference, digest) =>
        `${reference.source.slice(0, reference.source.indexOf('=') + 1)}docker-image://${pinWord(formatReference({ ...reference.image, digest: undefined }), digest)}`
    }
  ],
  scan: (file, text) => scanWorkflow(file, text)
}

/**
 * The `${{ … }}` expressions of a value, in one pass: each `${{` to the next `}}` (a lazy
 * regular expression would rescan the rest of the value from every unclosed `${{`).
 */
function expressionsIn(text: string): { start: number; end: number; inner: string }[] {
  const found: { start: number; end: number; inner: string }[] = []
  for (let start = text.indexOf('${{'); start >= 0; start = text.indexOf('${{', start)) {
    const close = text.indexOf('}}', start + 3)
    if (close < 0) break
    found.push({ start, end: close + 2, inner: text.slice(start + 3, close).trim() })
    start = close + 2
  }
  return found
}

/** A value with each expression replaced. */
function replaceExpressions(text: string, replace: (inner: string) => string): string {
  let out = ''
  let from = 0
  for (const e of expressionsIn(text)) {
    out += text.slice(from, e.start) + replace(e.inner)
    from = e.end
  }
  return out + text.slice(from)
}

/** Every image a workflow pulls, with the literal values of its matrix. Pure. */
export function scanWorkflow(file: string, content: string): SourceScan {
  const result = emptyScan()
  const parsed = parseYaml(file, content)
  if ('error' in parsed) {
    result.errors.push(parsed.error)
    return result
  }
  const { document, lineCounter: lines } = parsed
  const at = (node: Node) => lines.linePos(node.range?.[0] ?? 0)
  const root = document.contents
  const get = (map: unknown, key: string): Node | undefined =>
    isMap(map) ? ((map as YAMLMap).get(key, true) as Node | undefined) : undefined
  const literalEnv = (map: unknown): Record<string, string> => {
    const env: Record<string, string> = {}
    const node = get(map, 'env')
    if (isMap(node))
      for (const pair of node.items)
        if (isScalar(pair.key) && isScalar(pair.value) && !String(pair.value.value).includes('${{'))
          env[String(pair.key.value)] = String(pair.value.value)
    return env
  }
  const workflowEnv = literalEnv(root)
  const jobs = get(root, 'jobs')
  if (!isMap(jobs)) return result

  for (const jobPair of jobs.items) {
    const job = jobPair.value
    if (!isMap(job) || !isScalar(jobPair.key)) continue
    const jobId = String(jobPair.key.value)
    const env = { ...workflowEnv, ...literalEnv(job) }
    const matrixNode = get(get(job, 'strategy'), 'matrix')
    const expanded = matrixOf(matrixNode)
    if (expanded !== null && 'tooMany' in expanded) {
      // GitHub refuses the run; expanding it would cost time and memory exponential in its size
      result.errors.push({
        file,
        line: matrixNode ? at(matrixNode).line : 1,
        message: `job "${jobId}": its matrix has ${expanded.tooMany} combinations, more than the ${MAX_MATRIX} GitHub runs; not expanded`
      })
      continue
    }
    const combinations = expanded

    /** One reference per value the expression-free or literal-matrix image takes. */
    const image = (node: Node | undefined, kind: string, key: string, prefix = '') => {
      if (!isScalar(node) || typeof node.value !== 'string') return
      const raw = node.value
      const { line, col } = at(node)
      const values = substitute(raw.slice(prefix.length), env, combinations)
      if ('runtime' in values) {
        result.notices.push({
          file,
          line,
          message: `${key}: ${raw} is set at run time (${values.runtime}), not checked`
        })
        return
      }
      for (const text of values.texts) {
        const found: FoundReference = {
          file,
          line,
          column: col,
          kind,
          source: `${key}: ${raw}`,
          ...imageOrError(text)
        }
        result.references.push(found)
      }
    }

    const container = get(job, 'container')
    if (isMap(container)) image(get(container, 'image'), 'workflow-container', 'image')
    else image(container, 'workflow-container', 'container')
    const services = get(job, 'services')
    if (isMap(services))
      for (const pair of services.items) {
        const service = pair.value as Node
        if (isMap(service)) image(get(service, 'image'), 'workflow-service', 'image')
        else image(service, 'workflow-service', String((pair.key as { value: unknown }).value))
      }
    const steps = get(job, 'steps')
    if (!isSeq(steps)) continue
    steps.items.forEach((step, index) => {
      const uses = get(step, 'uses')
      if (!isScalar(uses) || typeof uses.value !== 'string') return
      if (uses.value.startsWith('docker://')) image(uses, 'workflow-step', 'uses', 'docker://')
      else if (/^docker\/bake-action@/.test(uses.value)) {
        const inputs = get(step, 'with')
        const text = (name: string) => {
          const node = get(inputs, name)
          return isScalar(node) && node.value !== null ? String(node.value) : ''
        }
        const by = `job "${jobId}" step ${index + 1} (docker/bake-action)`
        for (const name of text('files')
          .split(/[\n,]/)
          .map(f => f.trim())
          .filter(Boolean)) {
          if (name.includes('${{')) {
            result.notices.push({
              file,
              line: at(uses).line,
              message: `${by}: ${name} is set at run time, not checked`
            })
            continue
          }
          const workdir = posix.normalize(text('workdir') || '.')
          result.follows.push(
            // Bake resolves context and dockerfile against where it runs, not the file's folder
            follow(
              bakeSource,
              {
                workdir,
                targets: text('targets')
                  .split(/[\n,]/)
                  .map(t => t.trim())
                  .filter(Boolean)
              },
              {
                path: posix.join(workdir, name),
                fromRoot: true,
                verb: 'names',
                by,
                line: at(uses).line
              }
            )
          )
        }
      } else if (/^docker\/build-push-action@/.test(uses.value)) {
        const literal = { env: { ...env, ...literalEnv(step) }, combinations }
        result.follows.push(
          ...buildPushStep(
            file,
            get(step, 'with'),
            at,
            jobId,
            index,
            at(uses).line,
            result,
            literal
          )
        )
      }
    })
  }
  return result
}

/** GitHub runs at most this many jobs of one matrix. */
export const MAX_MATRIX = 256

/** How many combinations a matrix's lists make, without forming them (a count, capped at 10^12). */
function countCombinations(matrix: YAMLMap): number {
  let count = 1
  for (const pair of matrix.items)
    if (
      isScalar(pair.key) &&
      !['include', 'exclude'].includes(String(pair.key.value)) &&
      isSeq(pair.value)
    )
      count = Math.min(count * pair.value.items.length, 1e12)
  return count
}

/** A matrix value: a scalar's text, or an object of them (`${{ matrix.image.tag }}`). */
type MatrixValue = string | { [key: string]: MatrixValue }
type Combination = Record<string, MatrixValue>

/** A YAML node as a literal matrix value; null for anything else (a list in an entry, an alias). */
function matrixValue(node: unknown, depth = 0): MatrixValue | null {
  if (isScalar(node)) return String(node.value)
  if (!isMap(node) || depth > 8) return null
  const value: Record<string, MatrixValue> = {}
  for (const pair of node.items) {
    const inner = isScalar(pair.key) ? matrixValue(pair.value, depth + 1) : null
    if (inner === null) return null
    value[String((pair.key as { value: unknown }).value)] = inner
  }
  return value
}

/** `image.tag` of a combination, when it names a scalar. */
function valueAt(combination: Combination, path: string): string | undefined {
  let value: MatrixValue | undefined = combination
  for (const key of path.split('.'))
    value = typeof value === 'object' && Object.hasOwn(value, key) ? value[key] : undefined
  return typeof value === 'string' ? value : undefined
}

/**
 * The combinations of a literal matrix, as GitHub forms them: the product of its lists,
 * less `exclude`, with `include` merged into matching combinations or added. Null when any
 * part is not literal (an expression, `fromJSON`).
 */
function matrixOf(matrix: Node | undefined): Combination[] | { tooMany: number } | null {
  if (matrix === undefined) return []
  if (!isMap(matrix)) return null
  const plain = (node: unknown): Combination | null => {
    const value = matrixValue(node)
    return typeof value === 'object' && value !== null ? value : null
  }
  let combinations: Combination[] = [{}]
  let include: Combination[] = []
  let exclude: Combination[] = []
  for (const pair of matrix.items) {
    if (!isScalar(pair.key)) return null
    const key = String(pair.key.value)
    const value = pair.value
    if (key === 'include' || key === 'exclude') {
      if (!isSeq(value)) return null
      const entries = value.items.map(plain)
      if (entries.some(e => e === null)) return null
      if (key === 'include') include = entries as Combination[]
      else exclude = entries as Combination[]
      continue
    }
    const values = isSeq(value) ? value.items.map(item => matrixValue(item)) : [null]
    if (values.some(v => v === null)) return null
    // counted before the product is formed
    if (combinations.length * values.length > MAX_MATRIX)
      return { tooMany: countCombinations(matrix) }
    combinations = combinations.flatMap(c => values.map(v => ({ ...c, [key]: v as MatrixValue })))
  }
  const matches = (c: Combination, pattern: Combination) =>
    Object.entries(pattern).every(([k, v]) => JSON.stringify(c[k]) === JSON.stringify(v))
  combinations = combinations.filter(c => !exclude.some(e => matches(c, e)))
  const base = new Set(combinations.flatMap(c => Object.keys(c)))
  for (const entry of include) {
    const original = Object.fromEntries(Object.entries(entry).filter(([k]) => base.has(k)))
    const targets = combinations.filter(c => Object.keys(c).length > 0 && matches(c, original))
    if (Object.keys(original).length > 0 && targets.length > 0)
      for (const t of targets) Object.assign(t, entry)
    else combinations.push({ ...entry })
  }
  return combinations.filter(c => Object.keys(c).length > 0)
}

/** The texts an image value takes: its `${{ matrix.x }}` and `${{ env.X }}` filled in, or why it is known only at run time. */
function substitute(
  raw: string,
  env: Record<string, string>,
  combinations: Combination[] | null
): { texts: string[] } | { runtime: string } {
  const expressions = expressionsIn(raw).map(e => e.inner)
  if (expressions.length === 0) return { texts: [raw] }
  const usesMatrix = expressions.some(e => e.startsWith('matrix.'))
  const matrixPath = (e: string) => /^matrix\.([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)$/.exec(e)?.[1]
  for (const expression of expressions) {
    const env1 = /^env\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(expression)
    if (env1 && env[env1[1]] !== undefined) continue
    const path = matrixPath(expression)
    if (path && combinations?.some(c => valueAt(c, path) !== undefined)) continue
    return { runtime: `\${{ ${expression} }}` }
  }
  const fill = (combination: Combination) =>
    replaceExpressions(raw, (expression: string) =>
      expression.startsWith('env.')
        ? env[expression.slice(4)]
        : (valueAt(combination, matrixPath(expression)!) ?? '')
    )
  const texts = usesMatrix
    ? (combinations ?? [])
        .filter(c =>
          expressions.every(
            e => !e.startsWith('matrix.') || valueAt(c, matrixPath(e)!) !== undefined
          )
        )
        .map(fill)
    : [fill({})]
  return { texts: [...new Set(texts)] }
}

/** The Dockerfile a `docker/build-push-action` step builds, with its args and named contexts. */
function buildPushStep(
  file: string,
  inputs: Node | undefined,
  at: (node: Node) => { line: number; col: number },
  jobId: string,
  index: number,
  line: number,
  result: SourceScan,
  literal: { env: Record<string, string>; combinations: Combination[] | null }
): Follow[] {
  const input = (name: string): { text: string; node: Node } | null => {
    const node = isMap(inputs) ? (inputs.get(name, true) as Node | undefined) : undefined
    return isScalar(node) && node.value !== null ? { text: String(node.value), node } : null
  }
  const by = `job "${jobId}" step ${index + 1} (docker/build-push-action)`
  const rawContext = input('context')?.text ?? '.'
  const rawFile = input('file')?.text
  const rawArgs = lines(input('build-args')?.text)
  // one build per matrix combination its inputs name, literal env and matrix values filled in
  const matrixUsed = [rawContext, rawFile ?? '', ...rawArgs].some(t => /\$\{\{\s*matrix\./.test(t))
  const variants = matrixUsed && literal.combinations?.length ? literal.combinations : [{}]
  const builds = new Map<string, { context: string; file?: string; args: Record<string, string> }>()
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
    const build = { context, ...(rawFile !== undefined ? { file: dockerfile } : {}), args }
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
  const contexts: string[] = []
  const named = input('build-contexts')
  const offsetOf = lineOffsets(named?.text ?? '')
  for (const entry of lines(named?.text)) {
    const match = /^([^=\s]+)=docker-image:\/\/(.+)$/.exec(entry)
    if (!match) continue
    contexts.push(match[1])
    const { line: contextLine, col } = at(named!.node)
    const found: FoundReference = {
      file,
      // a block scalar's text starts on the line after its indicator
      line:
        contextLine +
        (String((named!.node as { type?: string }).type).startsWith('BLOCK') ? 1 : 0) +
        offsetOf(entry),
      column: col,
      kind: 'build-context',
      source: `${match[1]}=docker-image://${match[2]}`,
      ...imageOrError(match[2])
    }
    result.references.push(found)
  }
  return [...builds.values()].map(build =>
    follow(
      dockerfileSource,
      { buildArgs: build.args, contexts },
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
