/**
 * Dockerfiles and Containerfiles as BuildKit builds them: every image a build pulls, per platform.
 */
import { DEFAULT_PLATFORM, parsePlatform, PlatformError } from '../../reference/platform.js'
import { formatReference } from '../../reference/reference.js'
import {
  parseDockerfileSyntax,
  splitFlags,
  splitWords,
  type DockerfileSyntax,
  type Instruction
} from './syntax.js'
import { locateInDockerfile } from './pin.js'
import { packageUses } from './uses.js'
import { expand, ExpansionError, type Lookup } from '../read/expand.js'
import {
  excerpt,
  imageOrError,
  referenceKey,
  type FoundReference,
  type ScanProblem,
  type Source
} from '../read/source.js'

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/

export interface DockerfileOptions {
  /** Build args (`NAME=VALUE`); they override only globally declared ARGs. */
  buildArgs?: Record<string, string>
  /** Platforms the automatic TARGET* ARGs describe; default linux/amd64. */
  targetPlatforms?: string[]
  /** The platform BUILDPLATFORM describes; default linux/amd64. */
  buildPlatform?: string
  /** Named build contexts the build passes (`--build-context name=…`): `FROM name` is that context, reported where it is named. */
  contexts?: readonly string[]
  /** Images the same project builds (Compose), normalized: a FROM naming one is built, not pulled. */
  localImages?: readonly string[]
}

/** What a build (a Compose service, a Bake target, a workflow step) passes to the Dockerfile it builds. */
export interface DockerfileBuild {
  buildArgs: Record<string, string>
  /** Named build contexts: a `FROM` naming one is not a registry image. */
  contexts?: readonly string[]
  /** Images built by the same project, normalized: never pulled. */
  localImages?: readonly string[]
  /** The platforms the build runs for, normalized, when it names them: TARGETPLATFORM and the tracked platforms. */
  platforms?: readonly string[]
}

/** Dockerfiles and Containerfiles, read as BuildKit reads them. */
export const dockerfileSource: Source<DockerfileBuild> = {
  name: 'Dockerfile',
  patterns: [
    '**/Dockerfile',
    '**/Dockerfile.*',
    '**/Dockerfile-*',
    '**/*.Dockerfile',
    '**/*-Dockerfile',
    '**/*.dockerfile',
    '**/Containerfile',
    '**/Containerfile.*'
  ],
  // a man page, notes or a test beside the Dockerfile (`Dockerfile.5.md`, `dockerfile_test.go`)
  notNamed: ['**/*.{md,markdown,go,txt,rst,html,adoc}'],
  // a file with a FROM line (a template's `FROM {{ … }}` too: it is said not to build)
  looksLike: text => /^[ \t]*from(\s|\\)/im.test(text),
  follows: [],
  kinds: [
    {
      name: 'from',
      description:
        '`FROM [--platform=P] IMAGE [AS name]`, unless IMAGE is `scratch` or an earlier stage',
      fence: 'dockerfile',
      locate: locateInDockerfile,
      // the RUN, COPY and ADD lines of the stages built on it
      packageUses: (reference, text, removed) =>
        packageUses(reference.file, text, reference.line, removed)
    },
    {
      name: 'copy-from',
      description:
        '`COPY --from=IMAGE`, unless the value is a stage name or index (BuildKit expands no variables there)',
      fence: 'dockerfile',
      locate: locateInDockerfile
    },
    {
      name: 'mount-from',
      description: '`RUN --mount=…,from=IMAGE,…`, unless the value is a stage name or index',
      fence: 'dockerfile',
      locate: locateInDockerfile
    },
    {
      name: 'syntax',
      description: 'the `# syntax=IMAGE` parser directive (the frontend image BuildKit pulls)',
      fence: 'dockerfile',
      locate: locateInDockerfile
    }
  ],
  scan: (file, text, context) => {
    // a build that names its platforms builds for those, whatever the run tracks
    const platforms = context.passed?.platforms?.length ? [...context.passed.platforms] : null
    const scanned = scanDockerfile(file, text, {
      ...context,
      ...(platforms ? { targetPlatforms: platforms } : {}),
      // a build's own args win over the run's
      buildArgs: { ...context.buildArgs, ...context.passed?.buildArgs },
      contexts: context.passed?.contexts,
      localImages: context.passed?.localImages
    })
    return { ...scanned, errors: [], follows: [] }
  }
}

/**
 * Every image a Dockerfile pulls, with BuildKit's semantics, once per target platform (a
 * `FROM image:$TARGETARCH` pulls one image per platform). Pure.
 */
export function scanDockerfile(
  file: string,
  content: string,
  options: DockerfileOptions = {}
): { references: FoundReference[]; warnings: ScanProblem[]; notices: ScanProblem[] } {
  const syntax = parseDockerfileSyntax(content)
  const template = syntax.instructions.find(
    i => i.keyword.startsWith('{') || (i.keyword === 'from' && i.args.includes('{{'))
  )
  if (template)
    // a Jinja or Go template matched by `Dockerfile.*`: BuildKit cannot parse it, it builds nothing
    return {
      references: [],
      warnings: [],
      notices: [
        {
          file,
          line: template.line,
          message:
            'a template ({{ … }}, {% … %}): BuildKit cannot build it as it is, so it is not scanned'
        }
      ]
    }
  const platforms = options.targetPlatforms?.length ? options.targetPlatforms : [DEFAULT_PLATFORM]
  const references = new Map<string, FoundReference>()
  const unbuildable = new Map<string, FoundReference>()
  const warnings = new Map<string, ScanProblem>()
  // each image is tracked for the platforms it is pulled for: `FROM img:$TARGETARCH` for one
  const pulledFor = new Map<string, string[]>()
  for (const platform of platforms) {
    const one = scanForPlatform(
      file,
      syntax,
      options.buildArgs ?? {},
      platformArgs(platform, options.buildPlatform ?? DEFAULT_PLATFORM),
      (options.contexts ?? []).map(name => name.toLowerCase())
    )
    for (const r of one.references) {
      const key = referenceKey(r)
      references.set(key, r)
      pulledFor.set(key, [...(pulledFor.get(key) ?? []), platform])
    }
    for (const r of one.unbuildable) unbuildable.set(referenceKey(r), r)
    for (const w of one.warnings) warnings.set(`${w.line}\0${w.message}`, w)
  }
  if (options.targetPlatforms?.length)
    for (const [key, r] of references) r.trackedPlatforms ??= pulledFor.get(key)
  // a line BuildKit refuses fails the whole build: the file pulls nothing, its errors say why
  const found = unbuildable.size > 0 ? unbuildable : references
  // an image the same Compose project builds is built here, not pulled
  const local = new Set(options.localImages ?? [])
  const localName = (r: FoundReference) => {
    const name = r.image ? formatReference(r.image) : undefined
    return name !== undefined && local.has(name) ? name : undefined
  }
  return {
    references: [...found.values()].filter(r => localName(r) === undefined),
    warnings: [...warnings.values()],
    notices: [...found.values()].flatMap(r => {
      const name = localName(r)
      return name
        ? [
            {
              file,
              line: r.line,
              message: `${name} is built by this Compose project: not pulled, not checked`
            }
          ]
        : []
    })
  }
}

function scanForPlatform(
  file: string,
  syntax: DockerfileSyntax,
  buildArgs: Record<string, string>,
  automatic: Map<string, string>,
  contexts: readonly string[]
): PlatformScan['result'] {
  const scan = new PlatformScan(file, syntax, buildArgs, automatic, contexts)
  for (const instruction of syntax.instructions) scan.read(instruction)
  return scan.result
}

/** One pass over a Dockerfile's instructions for one target platform, with BuildKit's scoping of ARGs. */
class PlatformScan {
  readonly result: {
    references: FoundReference[]
    /** Lines BuildKit refuses to parse: errors of the file, which then builds nothing. */
    unbuildable: FoundReference[]
    warnings: ScanProblem[]
  } = { references: [], unbuildable: [], warnings: [] }
  private readonly globals = new Map<string, string | undefined>()
  private stageArgs = new Map<string, string | undefined>()
  private stageIndex = -1
  private readonly stageNames: string[]
  /** Each stage name's first stage: lookups in constant time, for files of thousands of stages. */
  private readonly firstStage = new Map<string, number>()
  private readonly globalLookup: Lookup = name =>
    this.globals.has(name) ? this.globals.get(name) : this.automatic.get(name)
  private readonly stageLookup: Lookup = name => this.stageArgs.get(name)

  constructor(
    private readonly file: string,
    private readonly syntax: DockerfileSyntax,
    private readonly buildArgs: Record<string, string>,
    private readonly automatic: Map<string, string>,
    private readonly contexts: readonly string[]
  ) {
    this.result.warnings.push(
      ...syntax.problems.map((p): ScanProblem => ({ file, line: p.line, message: p.message }))
    )
    this.stageNames = syntax.instructions
      .filter(i => i.keyword === 'from')
      .map(i => stageNameOf(i, syntax.escape) ?? '')
    this.stageNames.forEach((name, index) => {
      if (name !== '' && !this.firstStage.has(name)) this.firstStage.set(name, index)
    })
    const directive = syntax.directives.find(d => d.name === 'syntax')
    if (directive) this.add(directive, 'syntax', { text: directive.value }, null, null)
  }

  read(instruction: Instruction): void {
    const { keyword } = instruction
    if (this.stageIndex < 0 && keyword !== 'arg' && keyword !== 'from')
      this.result.warnings.push({
        file: this.file,
        line: instruction.line,
        message: `${keyword.toUpperCase()} before the first FROM: only ARG may come before FROM`
      })
    else if (keyword === 'arg') this.arg(instruction)
    else if (keyword === 'from') this.from(instruction)
    else if (keyword === 'add') {
      // BuildKit's ADD has no --from (unknown flag: from), and the build stops there
      if (this.flags(instruction).has('from'))
        this.refuse(
          instruction,
          'copy-from',
          'ADD has no --from flag (BuildKit refuses it): use COPY --from'
        )
    } else if (keyword === 'copy') this.copy(instruction)
    else if (keyword === 'run') this.run(instruction)
  }

  private flags(instruction: Instruction): Map<string, string[]> {
    return splitFlags(instruction.args, this.syntax.escape).flags
  }

  private expand(word: string, lookup: Lookup): string {
    return expand(word, lookup, { escape: this.syntax.escape })
  }

  private get stage(): string | null {
    return this.stageNames[this.stageIndex] || null
  }

  /** A stage name or index, or a named build context: not an image. */
  private isStage(value: string): boolean {
    return (
      /^\d+$/.test(value) ||
      this.firstStage.has(value.toLowerCase()) ||
      this.contexts.includes(value.toLowerCase())
    )
  }

  private arg(instruction: Instruction): void {
    const global = this.stageIndex < 0
    declareArgs(
      instruction,
      this.syntax.escape,
      global ? this.globals : this.stageArgs,
      global ? this.globalLookup : this.stageLookup,
      // build args and the automatic platform ARGs override defaults; in a stage, a bare
      // `ARG NAME` takes the global value
      (name, hasDefault) =>
        this.buildArgs[name] ??
        this.automatic.get(name) ??
        (!global && !hasDefault ? this.globals.get(name) : undefined),
      message => this.result.warnings.push({ file: this.file, line: instruction.line, message })
    )
  }

  private from(instruction: Instruction): void {
    this.stageIndex++
    this.stageArgs = new Map()
    const { flags, rest } = splitFlags(instruction.args, this.syntax.escape)
    const platform = flags.get('platform')?.[0] ?? null
    const earlier = (name: string) => (this.firstStage.get(name) ?? Infinity) < this.stageIndex
    const tracked =
      platform === null
        ? null
        : platformValue(
            platform,
            (word, lookup) => this.expand(word, lookup),
            this.globalLookup,
            this.automatic.get('BUILDPLATFORM') ?? DEFAULT_PLATFORM
          )
    const structure = fromProblem(rest, flags)
    if (structure !== null) return this.refuse(instruction, 'from', structure)
    const problem = tracked !== null && 'error' in tracked ? tracked.error : null
    const image: Evaluated =
      problem === null
        ? evaluate(() => this.expand(rest[0], this.globalLookup))
        : { error: problem }
    // `scratch` is no image, and an earlier stage's name is that stage
    if (
      'text' in image &&
      (image.text === 'scratch' ||
        earlier(image.text.toLowerCase()) ||
        this.contexts.includes(image.text.toLowerCase()))
    )
      return
    const found = this.add(instruction, 'from', image, this.stage, platform)
    if (tracked !== null && 'text' in tracked) found.trackedPlatforms = [tracked.text]
  }

  private copy(instruction: Instruction): void {
    const from = this.flags(instruction).get('from')?.[0]
    if (from === undefined) return
    // dockerfile2llb expands --from with no variables and refuses any change: no variables
    if (/\$(?:[A-Za-z_{]|$)/.test(from.replace(/\$$/, '')))
      this.refuse(
        instruction,
        'copy-from',
        `COPY --from=${from}: BuildKit does not expand variables in --from; name a stage FROM the image (with an ARG) and copy from that stage`
      )
    else if (!this.isStage(from))
      this.add(instruction, 'copy-from', { text: from }, this.stage, null)
  }

  private run(instruction: Instruction): void {
    for (const mount of this.flags(instruction).get('mount') ?? []) {
      const from = mountOption(mount, 'from')
      if (from === undefined) continue
      // BuildKit's mount parser refuses a `$` anywhere but last in from=
      if (from.slice(0, -1).includes('$'))
        this.refuse(
          instruction,
          'mount-from',
          `--mount from=${from}: BuildKit does not expand variables in from=; name a stage FROM the image (with an ARG) and mount from that stage`
        )
      else if (!this.isStage(from))
        this.add(instruction, 'mount-from', { text: from }, this.stage, null)
    }
  }

  private refuse(at: Instruction, kind: string, error: string): void {
    this.result.unbuildable.push({
      file: this.file,
      line: at.line,
      column: at.column,
      kind,
      source: excerpt(at.text, 300),
      error
    })
  }

  private add(
    at: { line: number; column: number; text: string },
    kind: string,
    value: Evaluated,
    stage: string | null,
    platform: string | null
  ): FoundReference {
    const found: FoundReference = {
      file: this.file,
      line: at.line,
      column: at.column,
      kind,
      // an instruction of thousands of mounts is one line of the report per reference, not thousands
      source: excerpt(at.text, 300),
      ...(stage !== null ? { stage } : {}),
      ...(platform !== null ? { platform } : {}),
      ...('error' in value ? { error: value.error } : imageOrError(value.text))
    }
    this.result.references.push(found)
    return found
  }
}

/** `ARG A=1 B C="x y"`: each name declared in scope, its default expanded, overrides applied. */
function declareArgs(
  instruction: Instruction,
  escape: string,
  scope: Map<string, string | undefined>,
  lookup: Lookup,
  override: (name: string, hasDefault: boolean) => string | undefined,
  warn: (message: string) => void
): void {
  for (const word of splitWords(instruction.args, escape)) {
    const eq = word.indexOf('=')
    const name = eq < 0 ? word : word.slice(0, eq)
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      warn(`ARG "${word}": a name must be letters, digits and _ (ARG NAME or ARG NAME=default)`)
      continue
    }
    let value = override(name, eq >= 0)
    if (value === undefined && eq >= 0) {
      try {
        value = expand(word.slice(eq + 1), lookup, { escape })
      } catch (error) {
        if (!(error instanceof ExpansionError)) throw error
        value = undefined // left unset: a FROM that uses it reports the error on its own line
      }
    }
    scope.set(name, value)
  }
}

function fromProblem(rest: string[], flags: Map<string, string[]>): string | null {
  const unknown = [...flags.keys()].filter(f => f !== 'platform')
  if (unknown.length > 0) return `unknown flag --${unknown[0]} on FROM: only --platform is allowed`
  if (rest.length === 0) return 'FROM needs an image: FROM [--platform=P] IMAGE [AS name]'
  if (
    rest.length === 2 ||
    rest.length > 3 ||
    (rest.length === 3 && rest[1].toLowerCase() !== 'as')
  ) {
    return `FROM takes IMAGE [AS name], not "${rest.join(' ')}"`
  }
  if (rest.length === 3 && !STAGE_NAME.test(rest[2].toLowerCase())) {
    return `invalid stage name "${rest[2]}": it must start with a letter and contain only letters, digits, -, _ and .`
  }
  return null
}

function stageNameOf(instruction: Instruction, escape: string): string | null {
  const { rest } = splitFlags(instruction.args, escape)
  return rest.length === 3 && rest[1].toLowerCase() === 'as' ? rest[2].toLowerCase() : null
}

/** A value of a `--mount=type=bind,from=x,target=/y` flag (CSV, keys case-insensitive). */
function mountOption(mount: string, key: string): string | undefined {
  for (const field of mount.match(/(?:[^,"]|"[^"]*")+/g) ?? []) {
    const eq = field.indexOf('=')
    if (eq > 0 && field.slice(0, eq).trim().toLowerCase() === key)
      return field.slice(eq + 1).replace(/^"(.*)"$/, '$1')
  }
  return undefined
}

type Evaluated = { text: string } | { error: string }

/** The expanded image text, or why it cannot be determined statically. */
function evaluate(run: () => string): Evaluated {
  try {
    const text = run()
    return text === '' ? { error: 'the image name expands to an empty string' } : { text }
  } catch (error) {
    if (!(error instanceof ExpansionError)) throw error
    return { error: error.message }
  }
}

/** `--platform=$BUILDPLATFORM` → the platform it names, normalized; or why it names none. */
function platformValue(
  flag: string,
  expandWith: (word: string, lookup: Lookup) => string,
  lookup: Lookup,
  buildPlatform: string
): Evaluated {
  const value = evaluate(() => expandWith(flag, lookup))
  if ('error' in value) return { error: `--platform=${flag}: ${value.error}` }
  try {
    return { text: parsePlatform(value.text, buildPlatform) }
  } catch (error) {
    if (error instanceof PlatformError) return { error: `--platform=${flag}: ${error.message}` }
    throw error
  }
}

/** BuildKit's automatic platform ARGs for a target platform and the platform the build runs on. */
function platformArgs(target: string, build: string): Map<string, string> {
  const [os, arch, variant = ''] = target.split('/')
  const [bos, barch, bvariant = ''] = build.split('/')
  return new Map([
    ['TARGETPLATFORM', target],
    ['TARGETOS', os],
    ['TARGETARCH', arch],
    ['TARGETVARIANT', variant],
    ['BUILDPLATFORM', build],
    ['BUILDOS', bos],
    ['BUILDARCH', barch],
    ['BUILDVARIANT', bvariant]
  ])
}
