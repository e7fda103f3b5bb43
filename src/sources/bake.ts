/**
 * Buildx Bake files as buildx evaluates them: every target's Dockerfile, scanned with the
 * target's args (inherited, overridden, per literal matrix value, with variable defaults),
 * for its platforms, and its named contexts.
 */
import { posix } from 'node:path'
import { formatReference } from '../reference/reference.js'
import { parsePlatform, PlatformError } from '../reference/platform.js'
import { HclError, parseHcl, parseHclString, type Block, type Body, type Expr } from './read/hcl.js'
import {
  imageOrError,
  isRemoteContext,
  pinWord,
  emptyScan,
  follow,
  type FoundReference,
  type ScanContext,
  type Source,
  type SourceScan
} from './source.js'
import { guardedLookup } from './read/variables.js'
import { ExpansionError } from './read/expand.js'
import { dockerfileSource } from './dockerfile/dockerfile.js'

const OVERRIDE = /^(.*\/)?docker-bake\.override\.(hcl|json)$/

/** How a `docker/bake-action` step runs a Bake file: where (paths resolve against it) and what it builds. */
export interface BakeInvocation {
  /** Relative to the scanned root. */
  workdir: string
  /** Targets or groups the step names; empty: Bake's `default`. */
  targets: string[]
}

export const bakeSource: Source<BakeInvocation> = {
  name: 'Bake file',
  patterns: ['**/docker-bake.hcl', '**/docker-bake.json', '**/docker-bake.override.hcl'],
  // a file another names to be read as Bake: HCL blocks, or JSON with targets
  looksLike: text =>
    /^[ \t]*(target|group)[ \t]+"[^"\n]*"[ \t]*\{/m.test(text) ||
    (text.trimStart().startsWith('{') && text.includes('"target"')),
  follows: [dockerfileSource],
  kinds: [
    {
      name: 'bake-context',
      description:
        'a Bake target\'s named context `contexts = { NAME = "docker-image://IMAGE" }` (a Dockerfile `FROM NAME` is that image)',
      fence: 'hcl',
      pin: (reference, digest) =>
        `${reference.source.slice(0, reference.source.indexOf('=') + 1)} "docker-image://${pinWord(formatReference({ ...reference.image, digest: undefined }), digest)}"`
    }
  ],
  scan: (file, text, context) => {
    // an override file is merged into the Bake file beside it, as Bake does
    if (OVERRIDE.test(file)) {
      const beside = ['docker-bake.hcl', 'docker-bake.json'].some(
        name => context.readBeside(name) !== null
      )
      if (beside) return emptyScan()
      return scanBake(file, [text], context)
    }
    const override = context.readBeside('docker-bake.override.hcl')
    return scanBake(file, override === null ? [text] : [text, override], context)
  }
}

type Value = string | number | boolean | null | Value[] | { [key: string]: Value }

/** Why a value is known only when Bake runs. */
class Unknown {
  constructor(
    readonly reason: string,
    readonly line: number
  ) {}
}

/** No arg, context or name needs more: longer values are not expanded further. */
const MAX_VALUE_LENGTH = 64 * 1024

/** The most combinations of one matrix expanded, as GitHub's limit for a workflow's. */
const MAX_MATRIX = 256

class MatrixTooLarge extends Error {
  constructor(
    readonly count: number,
    readonly line: number
  ) {
    super(`its matrix has ${count} combinations, more than ${MAX_MATRIX}; not expanded`)
  }
}

/** Every target's build of a Bake file (and its override), with variables and matrices evaluated. Pure. */
export function scanBake(
  file: string,
  texts: string[],
  context: ScanContext<BakeInvocation>
): SourceScan {
  const result = emptyScan()
  const bodies: Body[] = []
  for (const text of texts) {
    try {
      bodies.push(file.endsWith('.json') && bodies.length === 0 ? fromJson(text) : parseHcl(text))
    } catch (error) {
      if (!(error instanceof HclError || error instanceof SyntaxError)) throw error
      result.errors.push({
        file,
        line: error instanceof HclError ? error.line : 1,
        message: `invalid Bake file, not scanned: ${error.message}`
      })
      return result
    }
  }
  // the workflow may set a variable (as Bake reads the environment), never to a secret
  const bake = new BakeDefinitions(
    bodies.flatMap(b => b.blocks),
    guardedLookup(context.variables, context.secrets)
  )
  const mixins = mixinsOf(bake.targets, bake.groups, context.passed?.targets ?? [], n =>
    bake.variable(n, 1)
  )
  for (const [name, target] of bake.targets)
    // a target others only inherit, which nothing builds by name, is never built on its own
    if (!mixins.has(name))
      scanTarget({ file, result, bake, workdir: context.passed?.workdir }, name, target.line)
  return result
}

type Definition = { attributes: Map<string, Expr>; line: number }

/**
 * A Bake file's variables, targets and groups as Bake evaluates them: each variable's default
 * once however often it is used, each target's inheritance once however many paths reach it.
 */
class BakeDefinitions {
  readonly variables: Map<string, Definition>
  readonly targets: Map<string, Definition>
  readonly groups: Map<string, Definition>
  private readonly defaults = new Map<string, Value | Unknown>()
  private readonly resolving = new Set<string>()
  private readonly inherited = new Map<string, Map<string, Expr>>()
  private readonly visiting = new Set<string>()

  constructor(
    blocks: readonly Block[],
    private readonly given: (name: string) => string | undefined
  ) {
    const merged = (type: string) => {
      const byName = new Map<string, Definition>()
      for (const block of blocks.filter(b => b.type === type && b.labels.length > 0)) {
        const entry = byName.get(block.labels[0]) ?? { attributes: new Map(), line: block.line }
        for (const a of block.body.attributes) entry.attributes.set(a.name, a.value)
        byName.set(block.labels[0], entry)
      }
      return byName
    }
    this.variables = merged('variable')
    this.targets = merged('target')
    this.groups = merged('group')
  }

  /** A variable's value: given by the workflow, else its default; unknown otherwise. */
  variable(name: string, line: number): Value | Unknown {
    let value: string | undefined
    try {
      value = this.given(name)
    } catch (error) {
      if (error instanceof ExpansionError) return new Unknown(error.message, line)
      throw error
    }
    if (value !== undefined) return value
    const declared = this.variables.get(name)
    if (!declared) return new Unknown(`\${${name}} is not a declared variable`, line)
    const fallback = declared.attributes.get('default')
    if (!fallback || this.resolving.has(name))
      return new Unknown(`\${${name}} has no default`, line)
    const known = this.defaults.get(name)
    if (known !== undefined) return known
    this.resolving.add(name)
    try {
      const value = evaluate(fallback, n => this.variable(n, line))
      this.defaults.set(name, value)
      return value
    } finally {
      this.resolving.delete(name)
    }
  }

  /**
   * A target's attributes with its `inherits` applied: maps merged key by key, the rest
   * overridden; a target in its own ancestry contributes nothing the second time.
   */
  attributesOf(name: string): Map<string, Expr> {
    const own = this.targets.get(name)
    const known = this.inherited.get(name)
    if (known) return known
    if (!own || this.visiting.has(name)) return new Map()
    this.visiting.add(name)
    const attributes = new Map<string, Expr>()
    const parents = own.attributes.get('inherits')
    const names = parents ? evaluate(parents, n => this.variable(n, own.line)) : []
    for (const parent of Array.isArray(names) ? names : [])
      if (typeof parent === 'string') mergeInto(attributes, this.attributesOf(parent))
    const self = new Map(own.attributes)
    self.delete('inherits')
    mergeInto(attributes, self)
    this.visiting.delete(name)
    this.inherited.set(name, attributes)
    return attributes
  }
}

/** What the scan of one target needs: the file, what it fills, the definitions, where Bake runs. */
interface TargetScan {
  file: string
  result: SourceScan
  bake: BakeDefinitions
  /** The workflow step's workdir (relative to the root); undefined: the Bake file's folder. */
  workdir: string | undefined
}

/** One target: one build per value of its matrix. */
function scanTarget(scan: TargetScan, name: string, line: number): void {
  const { file, result, bake } = scan
  const attributes = bake.attributesOf(name)
  const said = new Set<string>()
  const notice = (message: string, at = line) => {
    // once per line, however many matrix values meet it
    const text = `target "${name}": ${message}`
    if (said.has(`${at}\0${text}`)) return
    said.add(`${at}\0${text}`)
    result.notices.push({ file, line: at, message: text })
  }
  let combinations: (Record<string, Value> | Unknown)[]
  try {
    combinations = matrixOf(attributes.get('matrix'), v => bake.variable(v, line))
  } catch (error) {
    if (!(error instanceof MatrixTooLarge)) throw error
    result.errors.push({ file, line: error.line, message: `target "${name}": ${error.message}` })
    return
  }
  for (const combination of combinations) {
    if (combination instanceof Unknown) {
      notice(`its matrix is known only when Bake runs (${combination.reason}); not checked`)
      return
    }
    const scope = (n: string) => (n in combination ? combination[n] : bake.variable(n, line))
    buildOf(
      scan,
      { name, line, attributes, named: Object.keys(combination).length > 0 },
      scope,
      notice
    )
  }
}

/** One build of a target, for one matrix value: its Dockerfile to follow, with args and contexts. */
function buildOf(
  { file, result, workdir }: TargetScan,
  target: { name: string; line: number; attributes: Map<string, Expr>; named: boolean },
  scope: (name: string) => Value | Unknown,
  notice: (message: string, line?: number) => void
): void {
  const { attributes } = target
  const text = (key: string, fallback: string): string | Unknown => {
    const expr = attributes.get(key)
    if (!expr) return fallback
    const value = evaluate(expr, scope)
    return value instanceof Unknown ? value : String(value)
  }
  // a matrix names each build with its `name` attribute
  const label = target.named ? text('name', target.name) : target.name
  const by = `bake target "${label instanceof Unknown ? target.name : label}"`
  if (attributes.has('dockerfile-inline')) return notice('dockerfile-inline is not checked')
  const buildContext = text('context', '.')
  const dockerfile = text('dockerfile', 'Dockerfile')
  if (buildContext instanceof Unknown)
    return notice(`${buildContext.reason}; not checked`, buildContext.line)
  if (dockerfile instanceof Unknown)
    return notice(`${dockerfile.reason}; not checked`, dockerfile.line)
  if (isRemoteContext(buildContext))
    return notice(`a remote context (${buildContext}) is not checked`)
  const buildArgs: Record<string, string> = {}
  const args = attributes.get('args')
  if (args?.type === 'object')
    for (const item of args.items) {
      const value = evaluate(item.value, scope)
      if (value instanceof Unknown) notice(`arg ${item.key}: ${value.reason}; left out`, item.line)
      else if (value !== null) buildArgs[item.key] = String(value)
    }
  const contexts: string[] = []
  const named = attributes.get('contexts')
  if (named?.type === 'object')
    for (const item of named.items) {
      contexts.push(item.key)
      const value = evaluate(item.value, scope)
      if (value instanceof Unknown) {
        notice(`context ${item.key}: ${value.reason}; not checked`, item.line)
        continue
      }
      const image = /^docker-image:\/\/(.+)$/.exec(String(value))?.[1]
      if (image) result.references.push(contextReference(file, item.key, image, item.line))
    }
  const platforms = targetPlatforms(attributes.get('platforms'), scope, notice)
  const inContext = dockerfile.startsWith('/') ? dockerfile : posix.join(buildContext, dockerfile)
  // relative to where Bake runs: the workflow step's workdir, else the Bake file's folder
  result.follows.push(
    follow(
      dockerfileSource,
      { buildArgs, contexts, ...(platforms.length > 0 ? { platforms } : {}) },
      {
        path: workdir !== undefined ? posix.join(workdir, inContext) : inContext,
        ...(workdir !== undefined ? { fromRoot: true } : {}),
        verb: 'builds',
        by,
        line: target.line
      }
    )
  )
}

/**
 * A target's `platforms`, normalized: what Buildx builds it for (TARGETPLATFORM), and the
 * platforms its images are tracked for. Empty when it names none, or when they are known only
 * when Bake runs (said as a notice): the run's platforms apply then.
 */
function targetPlatforms(
  expr: Expr | undefined,
  scope: (name: string) => Value | Unknown,
  notice: (message: string, line?: number) => void
): string[] {
  if (!expr) return []
  const value = evaluate(expr, scope)
  if (value instanceof Unknown) {
    notice(`platforms: ${value.reason}; the run's platforms are tracked`, value.line)
    return []
  }
  const list = Array.isArray(value) ? value : [value]
  const platforms: string[] = []
  for (const item of list)
    try {
      // Buildx splits each entry on commas too
      for (const one of String(item).split(','))
        if (one.trim()) platforms.push(parsePlatform(one.trim()))
    } catch (error) {
      if (!(error instanceof PlatformError)) throw error
      notice(`platforms: ${error.message}; the run's platforms are tracked`)
      return []
    }
  return [...new Set(platforms)]
}

/**
 * Targets that other targets inherit and that no group (`default` included) and no workflow
 * step names: mixins, which Bake builds only as part of the targets that inherit them.
 */
function mixinsOf(
  targets: ReadonlyMap<string, { attributes: Map<string, Expr> }>,
  groups: ReadonlyMap<string, { attributes: Map<string, Expr> }>,
  named: readonly string[],
  scope: (name: string) => Value | Unknown
): Set<string> {
  const names = (expr: Expr | undefined): string[] => {
    const value = expr ? evaluate(expr, scope) : []
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
  }
  const inherited = new Set([...targets.values()].flatMap(t => names(t.attributes.get('inherits'))))
  const built = new Set<string>()
  const visit = (name: string, depth: number) => {
    if (built.has(name) || depth > 32) return
    built.add(name)
    for (const member of names(groups.get(name)?.attributes.get('targets')))
      visit(member, depth + 1)
  }
  for (const name of [...groups.keys(), ...named]) visit(name, 0)
  return new Set([...inherited].filter(name => !built.has(name)))
}

function contextReference(file: string, name: string, image: string, line: number): FoundReference {
  const found: FoundReference = {
    file,
    line,
    column: 1,
    kind: 'bake-context',
    source: `${name} = "docker-image://${image}"`,
    ...imageOrError(image)
  }
  return found
}

/** Objects merged key by key (args, contexts, labels); everything else replaced. */
function mergeInto(into: Map<string, Expr>, from: Map<string, Expr>): void {
  for (const [key, value] of from) {
    const current = into.get(key)
    if (current?.type === 'object' && value.type === 'object') {
      const items = new Map(current.items.map(i => [i.key, i]))
      for (const item of value.items) items.set(item.key, item)
      into.set(key, { ...value, items: [...items.values()] })
    } else into.set(key, value)
  }
}

/** The literal combinations of a `matrix` attribute; `[{}]` without one. */
function matrixOf(
  matrix: Expr | undefined,
  scope: (name: string) => Value | Unknown
): (Record<string, Value> | Unknown)[] {
  if (!matrix) return [{}]
  const value = evaluate(matrix, scope)
  if (value instanceof Unknown) return [value]
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return [new Unknown('it is not a map of lists', matrix.line)]
  const lists = Object.entries(value)
  for (const [key, values] of lists)
    if (!Array.isArray(values)) return [new Unknown(`${key} is not a list`, matrix.line)]
  // counted before the product is formed: its size is exponential in the file's
  const count = lists.reduce((n, [, values]) => Math.min(n * (values as Value[]).length, 1e12), 1)
  if (count > MAX_MATRIX) throw new MatrixTooLarge(count, matrix.line)
  let combinations: Record<string, Value>[] = [{}]
  for (const [key, values] of lists)
    combinations = combinations.flatMap(c => (values as Value[]).map(v => ({ ...c, [key]: v })))
  return combinations
}

type Scope = (name: string) => Value | Unknown

/**
 * The functions of Bake's standard library (buildx bake/hclparser/stdlib.go) that variable
 * defaults reach for, with the semantics of their cty implementations; any other is left to
 * Bake (`timestamp()` is known only when it runs).
 */
const FUNCTIONS: Record<string, (args: Value[]) => Value | undefined> = {
  equal: ([a, b]) => sameValue(a, b),
  notequal: ([a, b]) => !sameValue(a, b),
  and: ([a, b]) => (typeof a === 'boolean' && typeof b === 'boolean' ? a && b : undefined),
  or: ([a, b]) => (typeof a === 'boolean' && typeof b === 'boolean' ? a || b : undefined),
  not: ([a]) => (typeof a === 'boolean' ? !a : undefined),
  lower: ([s]) => (typeof s === 'string' ? s.toLowerCase() : undefined),
  upper: ([s]) => (typeof s === 'string' ? s.toUpperCase() : undefined),
  trimspace: ([s]) => (typeof s === 'string' ? s.trim() : undefined),
  trimprefix: ([s, p]) =>
    typeof s === 'string' && typeof p === 'string'
      ? s.startsWith(p)
        ? s.slice(p.length)
        : s
      : undefined,
  trimsuffix: ([s, p]) =>
    typeof s === 'string' && typeof p === 'string'
      ? p && s.endsWith(p)
        ? s.slice(0, -p.length)
        : s
      : undefined,
  // a /regex/ substring is a regular expression in cty's replace: left to Bake
  replace: ([s, from, to]) =>
    typeof s === 'string' &&
    typeof from === 'string' &&
    typeof to === 'string' &&
    !/^\/.*\/$/.test(from)
      ? s.split(from).join(to)
      : undefined,
  join: ([separator, ...lists]) =>
    typeof separator === 'string' && lists.every(Array.isArray)
      ? (lists as Value[][])
          .flat()
          .map(v => String(v))
          .join(separator)
      : undefined,
  split: ([separator, s]) =>
    typeof separator === 'string' && typeof s === 'string' ? s.split(separator) : undefined,
  coalesce: args => args.find(a => a !== null && a !== '') ?? undefined,
  length: ([v]) => (typeof v === 'string' ? [...v].length : Array.isArray(v) ? v.length : undefined)
}

function call(expr: Extract<Expr, { type: 'call' }>, scope: Scope): Value | Unknown {
  const fn = Object.hasOwn(FUNCTIONS, expr.name) ? FUNCTIONS[expr.name] : undefined
  if (!fn) return new Unknown(`the function ${expr.name}() is evaluated by Bake`, expr.line)
  const args: Value[] = []
  for (const arg of expr.args) {
    const value = evaluate(arg, scope)
    if (value instanceof Unknown) return value
    args.push(value)
  }
  const result = fn(args)
  if (result === undefined)
    return new Unknown(`${expr.name}() with these arguments is evaluated by Bake`, expr.line)
  if (typeof result === 'string' && result.length > MAX_VALUE_LENGTH)
    return new Unknown(`a value longer than ${MAX_VALUE_LENGTH / 1024} KiB`, expr.line)
  return result
}

/** HCL's operators: `==` and `!=` on any values, logic on bools, arithmetic and order on numbers. */
function operation(expr: Extract<Expr, { type: 'operation' }>, scope: Scope): Value | Unknown {
  const values: Value[] = []
  for (const operand of expr.operands) {
    const value = evaluate(operand, scope)
    if (value instanceof Unknown) return value
    values.push(value)
  }
  const [a, b] = values
  const refuse = () =>
    new Unknown(`"${expr.operator}" on these values is evaluated by Bake`, expr.line)
  switch (expr.operator) {
    case '==':
      return sameValue(a, b)
    case '!=':
      return !sameValue(a, b)
    case '&&':
    case '||':
      if (typeof a !== 'boolean' || typeof b !== 'boolean') return refuse()
      return expr.operator === '&&' ? a && b : a || b
    case '!':
      return typeof a === 'boolean' ? !a : refuse()
  }
  // cty converts numeric strings to numbers for arithmetic and comparison
  const numbers = values.map(v =>
    typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN
  )
  if (numbers.some(Number.isNaN)) return refuse()
  const [x, y] = numbers
  switch (expr.operator) {
    case '-':
      return values.length === 1 ? -x : x - y
    case '+':
      return x + y
    case '*':
      return x * y
    case '/':
      return y === 0 ? refuse() : x / y
    case '%':
      return y === 0 ? refuse() : x % y
    case '<':
      return x < y
    case '>':
      return x > y
    case '<=':
      return x <= y
    case '>=':
      return x >= y
  }
  return refuse()
}

/** cty's equality: the same type and value, lists and objects element by element. */
function sameValue(a: Value, b: Value): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

function evaluate(expr: Expr, scope: Scope): Value | Unknown {
  switch (expr.type) {
    case 'literal':
      return expr.value
    case 'variable':
      return expr.name.includes('.')
        ? new Unknown(`${expr.name} is evaluated by Bake`, expr.line)
        : scope(expr.name)
    case 'call':
      return call(expr, scope)
    case 'operation':
      return operation(expr, scope)
    case 'conditional': {
      const condition = evaluate(expr.condition, scope)
      if (condition instanceof Unknown) return condition
      if (typeof condition !== 'boolean')
        return new Unknown('a condition that is not true or false', expr.line)
      return evaluate(condition ? expr.then : expr.otherwise, scope)
    }
    case 'unsupported':
      return new Unknown(`"${expr.text}" is evaluated by Bake`, expr.line)
    case 'template': {
      // HCL's template unwrapping: "${X}" alone is X's value itself, a null included
      if (expr.parts.length === 1 && typeof expr.parts[0] !== 'string')
        return evaluate(expr.parts[0], scope)
      let text = ''
      for (const part of expr.parts) {
        if (typeof part === 'string') {
          text += part
          continue
        }
        const value = evaluate(part, scope)
        if (value instanceof Unknown) return value
        text +=
          typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value ?? '')
        // doubling variables (`v1 = "${v2}${v2}"`) must not grow a string without bound
        if (text.length > MAX_VALUE_LENGTH)
          return new Unknown(`a value longer than ${MAX_VALUE_LENGTH / 1024} KiB`, expr.line)
      }
      return text
    }
    case 'tuple': {
      const items: Value[] = []
      for (const item of expr.items) {
        const value = evaluate(item, scope)
        if (value instanceof Unknown) return value
        items.push(value)
      }
      return items
    }
    case 'object': {
      const object: Record<string, Value> = {}
      for (const item of expr.items) {
        const value = evaluate(item.value, scope)
        if (value instanceof Unknown) return value
        object[item.key] = value
      }
      return object
    }
  }
}

/**
 * The line each JSON string first appears on, from one pass over the text: finding each key
 * anew would rescan the file once per key.
 */
function firstLines(text: string): (value: string) => number {
  const lines = new Map<string, number>()
  let line = 1
  for (let at = 0; at < text.length; at++) {
    const c = text[at]
    if (c === '\n') line++
    else if (c === '"') {
      let end = at + 1
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1
      const raw = text.slice(at, end + 1)
      if (!lines.has(raw)) lines.set(raw, line)
      for (let i = at; i < end; i++) if (text[i] === '\n') line++
      at = end
    }
  }
  return value => lines.get(JSON.stringify(value)) ?? 1
}

/**
 * A `docker-bake.json` as the same blocks an HCL file gives: `variable`, `target` and
 * `group` maps; strings keep their `${…}`. Lines are where each name first appears.
 */
function fromJson(text: string): Body {
  const document = JSON.parse(text) as Record<string, Record<string, Record<string, unknown>>>
  const lineOf = firstLines(text)
  const toExpr = (value: unknown, line: number): Expr => {
    if (typeof value === 'string') return parseHclString(value, line)
    if (Array.isArray(value)) return { type: 'tuple', items: value.map(v => toExpr(v, line)), line }
    if (typeof value === 'object' && value !== null)
      return {
        type: 'object',
        items: Object.entries(value).map(([key, v]) => {
          const at = lineOf(key)
          return { key, value: toExpr(v, at), line: at }
        }),
        line
      }
    return { type: 'literal', value: value as number | boolean | null, line }
  }
  const blocks: Block[] = []
  for (const type of ['variable', 'target', 'group']) {
    for (const [label, attributes] of Object.entries(document[type] ?? {})) {
      const line = lineOf(label)
      blocks.push({
        type,
        labels: [label],
        line,
        body: {
          blocks: [],
          attributes: Object.entries(attributes ?? {}).map(([name, value]) => ({
            name,
            value: toExpr(value, line),
            line
          }))
        }
      })
    }
  }
  return { attributes: [], blocks }
}
