/**
 * Buildx Bake files as buildx evaluates them: every target's Dockerfile, scanned with the
 * target's args (inherited, overridden, per literal matrix value, with variable defaults),
 * for its platforms, and its named contexts.
 */
import { posix } from 'node:path'
import { parsePlatform, PlatformError } from '../../reference/platform.js'
import { HclError, parseHcl, type Block, type Body, type Expr } from '../read/hcl.js'
import { evaluate, Unknown, type Value } from './evaluate.js'
import { fromJson } from './json.js'
import { perFile, prefixedValueSite, setElsewhere } from '../read/pin-site.js'
import {
  imageOrError,
  isRemoteContext,
  emptyScan,
  follow,
  type FoundReference,
  type ScanContext,
  type Source,
  type SourceScan
} from '../read/source.js'
import { guardedLookup } from '../read/variables.js'
import { ExpansionError } from '../read/expand.js'
import { dockerfileSource } from '../dockerfile/dockerfile.js'

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
      // `${TAG}` is written through when the file gives the variable a default
      locate: (file, reference) =>
        prefixedValueSite(file, reference, 'docker-image://', name =>
          variableDefaults(file).has(name) ? null : setElsewhere(`variable "${name}"`, name)
        )
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
  const lists: [string, Value[]][] = []
  for (const [key, values] of Object.entries(value)) {
    if (!Array.isArray(values)) return [new Unknown(`${key} is not a list`, matrix.line)]
    lists.push([key, values])
  }
  // counted before the product is formed: its size is exponential in the file's
  const count = lists.reduce((n, [, values]) => Math.min(n * values.length, 1e12), 1)
  if (count > MAX_MATRIX) throw new MatrixTooLarge(count, matrix.line)
  let combinations: Record<string, Value>[] = [{}]
  for (const [key, values] of lists)
    combinations = combinations.flatMap(c => values.map(v => ({ ...c, [key]: v })))
  return combinations
}

/** The variables an HCL Bake file gives a default (`variable "NAME" { default = … }`): a `${NAME}` the pin can be written through. */
const variableDefaults = perFile(file => {
  const names = new Set<string>()
  for (const block of file.text.matchAll(/variable[ \t]+"([^"\n]+)"[ \t]*\{([^}]*)/g))
    if (/(^|\s)default[ \t]*=/.test(block[2])) names.add(block[1])
  return names
})
