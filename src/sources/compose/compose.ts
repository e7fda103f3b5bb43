/**
 * Compose files as Compose reads them: services' images, the Dockerfiles they build, .env,
 * extends and include.
 */
import { isMap, isNode, isScalar, isSeq, type Node, type Scalar, type YAMLMap } from 'yaml'
import { parsePlatform, PlatformError } from '../../reference/platform.js'
import {
  formatReference,
  InvalidReferenceError,
  parseReference
} from '../../reference/reference.js'
import { posix } from 'node:path'
import { expand, ExpansionError, FILE_BUDGET_CHARS, type Lookup } from '../read/expand.js'
import { parseDotenv } from './dotenv.js'
import { guardedLookup } from '../read/variables.js'
import { dockerfileSource } from '../dockerfile/dockerfile.js'
import { deref, field, parseYaml, scalarText, type ParsedYaml } from '../read/yaml.js'
import { setElsewhere, yamlValueSite } from '../read/pin-site.js'
import {
  excerpt,
  isRemoteContext,
  emptyScan,
  follow,
  type FoundReference,
  type Source,
  type SourceScan
} from '../read/source.js'

/**
 * What a workflow step passes to the Compose files it names (`docker compose -f a -f b`,
 * `COMPOSE_FILE=a:b`): the first is the project, merged with the others in order, and no
 * default override file; the others are read as part of it only. The first is still the
 * folder's default project, merged with its override file, for a `docker compose` run
 * there without `-f` (`asDefault`): read only when that override file exists.
 */
export type ComposeFiles =
  | { overrides: string[] }
  | { partOf: string }
  | { asDefault: true }
  /** A file an `include` reads, with the chain of files that include it, outermost first. */
  | { includedBy: string[] }

export const composeSource: Source<ComposeFiles> = {
  name: 'Compose file',
  patterns: [
    '**/compose.y?(a)ml',
    '**/compose.*.y?(a)ml',
    '**/docker-compose.y?(a)ml',
    '**/docker-compose.*.y?(a)ml',
    // the names users write beside those
    '**/docker-compose-*.y?(a)ml',
    '**/compose-*.y?(a)ml',
    '**/*.compose.y?(a)ml'
  ],
  // services or includes at the top (or a first-version file: services there, each with an image or a build)
  looksLike: text =>
    /^(services|include)[ \t]*:|^[\w.-]+:[ \t]*\r?\n[ \t]+(image|build)[ \t]*:/m.test(text),
  // and Compose files it includes, read as they are on their own
  follows: [dockerfileSource],
  kinds: [
    {
      name: 'compose',
      description:
        "a Compose service `image:` for a service that has no `build:` (with `build:`, the Dockerfile it builds is scanned instead, with the service's `build.args`)",
      fence: 'yaml',
      // `${TAG:-7}` has a default to write the pin through; `${TAG}` is set elsewhere
      locate: (file, reference) =>
        yamlValueSite(file, reference.line, reference.column, name =>
          setElsewhere(`\${${name}}`, name)
        )
    }
  ],
  scan: (file, text, context) => {
    const given = context.passed
    if (given && 'partOf' in given) return emptyScan()
    const isDefaultProject =
      baseOf(context.readBeside) === posix.basename(file) && overriddenBy(context.readBeside)
    if (given && 'asDefault' in given && !isDefaultProject) return emptyScan()
    const files = given && 'overrides' in given ? given : null
    // an override file is part of the project of the Compose file beside it: read with it
    if (
      !files &&
      overriddenBy(context.readBeside) === posix.basename(file) &&
      baseOf(context.readBeside)
    )
      return emptyScan()
    // Compose reads `.env` beside the file; the variables passed in win over it
    const dotenv = context.readBeside('.env')
    const passed = guardedLookup(context.variables, context.secrets)
    const problems: { line: number; message: string }[] = []
    const variables = {
      ...(dotenv ? parseDotenv(dotenv, passed, problems) : {}),
      ...context.variables
    }
    const scanned = scanCompose(
      file,
      text,
      variables,
      context.secrets,
      context.readBeside,
      files ? files.overrides : null,
      given && 'includedBy' in given ? given.includedBy : []
    )
    const envFile = posix.join(posix.dirname(file), '.env')
    scanned.errors.push(...problems.map(p => ({ file: envFile, ...p })))
    return scanned
  }
}

/**
 * The files `docker compose` reads in a folder without `-f` (compose-go, cli/options.go):
 * the first of these that exists, then the first override file that exists, merged over it.
 */
const DEFAULT_FILE_NAMES = [
  'compose.yaml',
  'compose.yml',
  'docker-compose.yml',
  'docker-compose.yaml'
]
const OVERRIDE_FILE_NAMES = [
  'compose.override.yml',
  'compose.override.yaml',
  'docker-compose.override.yml',
  'docker-compose.override.yaml'
]

/** The project file of a folder, by name; null when it has none. */
function baseOf(readBeside: (name: string) => string | null): string | null {
  return DEFAULT_FILE_NAMES.find(name => readBeside(name) !== null) ?? null
}

/** The override file Compose merges over the folder's project file, by name. */
function overriddenBy(readBeside: (name: string) => string | null): string | null {
  return OVERRIDE_FILE_NAMES.find(name => readBeside(name) !== null) ?? null
}

/**
 * The images a Compose file pulls: `image:` of services without `build:`, interpolated as
 * Compose does; services with `build:` yield the Dockerfile to scan instead. Pure.
 */
export function scanCompose(
  file: string,
  content: string,
  variables: Record<string, string | undefined>,
  secrets: readonly string[] = [],
  /** Reads a file relative to this one (an `extends: {file}`); null when it does not exist. */
  readRelative: (path: string) => string | null = () => null,
  /** The files merged over it, from the root, as `-f` names them; null: the folder's default override. */
  overrides: readonly string[] | null = null,
  /** The files whose `include` reads this one, outermost first. */
  includedBy: readonly string[] = []
): SourceScan {
  const lookup = guardedLookup(variables, secrets)
  const result = emptyScan()
  const own = parseYaml(file, content)
  if ('error' in own) {
    result.errors.push(own.error)
    return result
  }
  const { document } = own
  const root = document.contents
  const services = isMap(root) ? field(document, root, 'services') : undefined
  if (!isMap(root) || !isMap(services)) {
    const legacy =
      isMap(root) &&
      root.items.some(pair => {
        const value = deref(document, pair.value)
        return isMap(value) && (value.has('image') || value.has('build'))
      })
    if (legacy)
      result.warnings.push({
        file,
        line: 1,
        message:
          'services at the top level (the legacy Compose format) are not scanned: put them under `services:`'
      })
    return result
  }

  // one budget for the whole file: each value may be large, not all of them
  const budget = { chars: FILE_BUDGET_CHARS }
  const interpolate = (text: string) => expand(text, lookup, { compose: true, budget })
  followIncludes(own, root, file, interpolate, result, includedBy)
  const parsed = new Map<string, ParsedYaml | null>([[file, own]])
  const load = (path: string): ParsedYaml | null => {
    if (!parsed.has(path)) {
      const text = readRelative(posix.relative(posix.dirname(file), path) || path)
      const loaded = text === null ? null : parseYaml(path, text)
      parsed.set(path, loaded && 'error' in loaded ? null : loaded)
    }
    return parsed.get(path) ?? null
  }
  const effective = new Map<string, Effective>()
  mergeServices({ ...own, file }, services, load, effective, result)
  const defaultOverride =
    baseOf(readRelative) === posix.basename(file) ? overriddenBy(readRelative) : null
  const merging =
    overrides ?? (defaultOverride ? [posix.join(posix.dirname(file), defaultOverride)] : [])
  for (const path of merging) mergeOverride(file, path, readRelative, load, effective, result)
  // images a service of this project builds are built here, never pulled
  const local = new Map<string, string>()
  for (const [service, shape] of effective) {
    if (shape.builds.length === 0 || !shape.image) continue
    const name = normalizedOrNull(interpolateOrNull(interpolate, String(shape.image.node.value)))
    if (name) local.set(name, service)
  }
  for (const [service, shape] of effective) {
    const platform = servicePlatform(service, shape, interpolate, result)
    if (shape.builds.length > 0) {
      addBuild(service, shape.builds, platform, interpolate, lookup, [...local.keys()], result)
      continue
    }
    if (shape.image) addImage(service, shape, shape.image, platform, interpolate, local, result)
  }
  return result
}

/**
 * The folder's override file merged over the project, as compose-go's override merge does
 * for the keys read here: a service it names takes its `image`, `build` and `platform` over
 * the project's (build args merged, the override's winning); a service only it names is added.
 */
function mergeOverride(
  file: string,
  path: string,
  readRelative: (path: string) => string | null,
  load: (path: string) => ParsedYaml | null,
  effective: Map<string, Effective>,
  result: SourceScan
): void {
  const text = readRelative(posix.relative(posix.dirname(file), path) || path)
  if (text === null) {
    result.errors.push({ file: path, message: `not scanned: merged over ${file}, but not there` })
    return
  }
  const parsed = parseYaml(path, text)
  if ('error' in parsed) {
    result.errors.push(parsed.error)
    return
  }
  const root = parsed.document.contents
  const services = isMap(root) ? field(parsed.document, root, 'services') : undefined
  if (!isMap(services)) return
  mergeServices({ ...parsed, file: path }, services, load, effective, result)
}

/** Each service of a file, `extends` applied, over what the files before it made of it. */
function mergeServices(
  at: ParsedYaml & { file: string },
  services: YAMLMap,
  load: (path: string) => ParsedYaml | null,
  effective: Map<string, Effective>,
  result: SourceScan
): void {
  for (const pair of services.items) {
    const service = String(isScalar(pair.key) ? pair.key.value : pair.key)
    const definition = deref(at.document, pair.value)
    if (service === '<<' || !isMap(definition)) continue
    const over = resolveService(at, definition, load, [`${at.file}#${service}`])
    if ('error' in over) {
      const { line } = at.lineCounter.linePos(definition.range?.[0] ?? 0)
      result.errors.push({ file: at.file, line, message: `service "${service}": ${over.error}` })
      continue
    }
    const base = effective.get(service)
    effective.set(service, base ? merged(base, over) : over)
  }
}

/** A service's shape with another's keys over it (an `extends`, an override file). */
function merged(base: Effective, over: Effective): Effective {
  return {
    builds: [...base.builds, ...over.builds],
    ...((over.image ?? base.image) ? { image: over.image ?? base.image } : {}),
    platform: over.platform ?? base.platform
  }
}

/** A node and the file it is written in (a service `extends` one in another file). */
interface Located extends ParsedYaml {
  file: string
  node: Node
}

/** What a service is, its `extends` and the override file applied: the later keys over the earlier. */
interface Effective {
  image?: Located & { node: Scalar }
  /** Its `build:` and those it extends or overrides, earliest first: each key of a later one wins, args merge. */
  builds: Located[]
  /** Its `platform:` as written, and where. */
  platform: { text: string; file: string; line: number } | null
}

const MAX_EXTENDS = 16

/** A service with `extends` (same file, or `file:` relative to the file that names it) applied. */
function resolveService(
  at: ParsedYaml & { file: string },
  definition: YAMLMap,
  load: (path: string) => ParsedYaml | null,
  chain: string[]
): Effective | { error: string } {
  const get = (key: string) => field(at.document, definition, key)
  const buildNode = get('build')
  const imageNode = get('image')
  const platformNode = get('platform')
  const own: Effective = {
    builds:
      buildNode !== undefined && !(isScalar(buildNode) && buildNode.value === null)
        ? [{ ...at, node: buildNode }]
        : [],
    ...(isScalar(imageNode) ? { image: { ...at, node: imageNode } } : {}),
    platform: isScalar(platformNode)
      ? {
          text: String(platformNode.value),
          file: at.file,
          line: at.lineCounter.linePos(platformNode.range?.[0] ?? 0).line
        }
      : null
  }
  const extendsNode = get('extends')
  if (extendsNode === undefined) return own
  const baseService = isScalar(extendsNode)
    ? String(extendsNode.value)
    : isMap(extendsNode)
      ? scalarText(field(at.document, extendsNode, 'service'))
      : null
  if (!baseService) return { error: 'extends names no service' }
  const baseFileText = isMap(extendsNode)
    ? scalarText(field(at.document, extendsNode, 'file'))
    : null
  const baseFile = baseFileText
    ? posix.normalize(posix.join(posix.dirname(at.file), baseFileText))
    : at.file
  const key = `${baseFile}#${baseService}`
  if (chain.includes(key)) return { error: `extends goes round in a circle through ${baseService}` }
  if (chain.length >= MAX_EXTENDS)
    return { error: `extends is nested more than ${MAX_EXTENDS} deep` }
  const base = baseFile === at.file ? at : load(baseFile)
  if (!base) return { error: `extends ${baseFileText}, which cannot be read` }
  const baseServices = isMap(base.document.contents)
    ? field(base.document, base.document.contents, 'services')
    : undefined
  const baseDefinition = isMap(baseServices)
    ? deref(base.document, field(base.document, baseServices, baseService))
    : undefined
  if (!isMap(baseDefinition))
    return {
      error: `extends service "${baseService}", which ${baseFileText ?? 'this file'} does not define`
    }
  const inherited = resolveService({ ...base, file: baseFile }, baseDefinition, load, [
    ...chain,
    key
  ])
  if ('error' in inherited) return inherited
  return merged(inherited, own)
}

/** The top-level `include:`: each Compose file it names is read as one of its own, with its own `.env`. */
function followIncludes(
  { document, lineCounter }: ParsedYaml,
  root: YAMLMap,
  file: string,
  interpolate: (text: string) => string,
  result: SourceScan,
  includedBy: readonly string[]
): void {
  const chain = [...includedBy, file]
  const include = field(document, root, 'include')
  if (!isSeq(include)) return
  for (const item of include.items) {
    const entry = deref(document, item)
    const pathNode = isMap(entry) ? field(document, entry, 'path') : entry
    const paths = isSeq(pathNode) ? pathNode.items.map(n => deref(document, n)) : [pathNode]
    for (const node of paths) {
      const text = scalarText(node)
      if (text === null) continue
      const { line } = lineCounter.linePos(node?.range?.[0] ?? 0)
      try {
        const path = posix.normalize(posix.join(posix.dirname(file), interpolate(text)))
        // compose-go refuses it too ("include cycle detected")
        if (chain.includes(path)) {
          result.errors.push({
            file,
            line,
            message: `include ${excerpt(text)} is a cycle (${[...chain.slice(chain.indexOf(path)), path].join(' → ')}); not followed`
          })
          continue
        }
        result.follows.push(
          follow(
            composeSource,
            { includedBy: chain },
            { path, fromRoot: true, verb: 'names', by: 'include', line }
          )
        )
      } catch (error) {
        if (!(error instanceof ExpansionError)) throw error
        result.errors.push({ file, line, message: `include ${text}: ${error.message}` })
      }
    }
  }
}

function interpolateOrNull(interpolate: (text: string) => string, text: string): string | null {
  try {
    return interpolate(text)
  } catch (error) {
    if (error instanceof ExpansionError) return null
    throw error
  }
}

function normalizedOrNull(text: string | null): string | null {
  if (!text) return null
  try {
    return formatReference(parseReference(text))
  } catch (error) {
    if (error instanceof InvalidReferenceError) return null
    throw error
  }
}

/**
 * A service's `platform`, interpolated and normalized: the platform its image is pulled and
 * its Dockerfile built for (TARGETPLATFORM), as Compose passes it to the builder. Null when it
 * names none; one it cannot read is a warning, and the run's platforms apply.
 */
function servicePlatform(
  service: string,
  shape: Effective,
  interpolate: (text: string) => string,
  result: SourceScan
): string | null {
  if (shape.platform === null) return null
  try {
    return parsePlatform(interpolate(shape.platform.text))
  } catch (error) {
    if (!(error instanceof ExpansionError || error instanceof PlatformError)) throw error
    result.warnings.push({
      file: shape.platform.file,
      line: shape.platform.line,
      message: `service "${service}" platform: ${error.message}; the run's platforms are tracked instead`
    })
    return null
  }
}

function addBuild(
  service: string,
  builds: readonly Located[],
  platform: string | null,
  interpolate: (text: string) => string,
  lookup: Lookup,
  localImages: string[],
  result: SourceScan
): void {
  // said where the service's own build is written: the last one
  const build = builds[builds.length - 1]
  const { line } = build.lineCounter.linePos(build.node.range?.[0] ?? 0)
  try {
    const found = composeBuild(builds, interpolate, lookup)
    if (!found) {
      result.warnings.push({
        file: build.file,
        line,
        message: `service "${service}": inline or remote build context not scanned`
      })
      return
    }
    // `build.platforms` are what is built (it must hold the service's `platform`, compose-go
    // loader/validate.go); else the service's platform
    const platforms = buildPlatforms(service, found.platforms, interpolate, result)
    if (platform !== null && !platforms.includes(platform)) platforms.push(platform)
    result.follows.push(
      follow(
        dockerfileSource,
        {
          buildArgs: found.buildArgs,
          ...(localImages.length > 0 ? { localImages } : {}),
          ...(platforms.length > 0 ? { platforms } : {})
        },
        {
          path: found.dockerfile,
          fromRoot: true,
          verb: 'builds',
          by: `service "${service}"`,
          line
        }
      )
    )
  } catch (error) {
    if (!(error instanceof ExpansionError)) throw error
    result.errors.push({
      file: build.file,
      line,
      message: `service "${service}" build: ${error.message}`
    })
  }
}

/** A build's `platforms`, interpolated and normalized; one it cannot read is a warning. */
function buildPlatforms(
  service: string,
  listed: readonly Located[],
  interpolate: (text: string) => string,
  result: SourceScan
): string[] {
  const platforms: string[] = []
  for (const { node, file, lineCounter } of listed) {
    try {
      if (!isScalar(node)) throw new PlatformError(String(node), 'it is not a string')
      const platform = parsePlatform(interpolate(String(node.value)))
      if (!platforms.includes(platform)) platforms.push(platform)
    } catch (error) {
      if (!(error instanceof ExpansionError || error instanceof PlatformError)) throw error
      result.warnings.push({
        file,
        line: lineCounter.linePos(node.range?.[0] ?? 0).line,
        message: `service "${service}" build.platforms: ${error.message}; not tracked`
      })
    }
  }
  return platforms
}

function addImage(
  service: string,
  shape: Effective,
  image: Located & { node: Scalar },
  platform: string | null,
  interpolate: (text: string) => string,
  local: ReadonlyMap<string, string>,
  result: SourceScan
): void {
  const { line, col } = image.lineCounter.linePos(image.node.range?.[0] ?? 0)
  const raw = String(image.node.value)
  const found: FoundReference = {
    file: image.file,
    line,
    column: col,
    kind: 'compose',
    source: `image: ${raw}`,
    ...(shape.platform !== null ? { platform: shape.platform.text } : {}),
    ...(platform !== null ? { trackedPlatforms: [platform] } : {}),
    error: null
  }
  try {
    const text = interpolate(raw)
    if (text === '') throw new ExpansionError('the image name expands to an empty string')
    found.image = parseReference(text)
  } catch (error) {
    if (!(error instanceof ExpansionError || error instanceof InvalidReferenceError)) throw error
    found.error = error.message
  }
  const name = found.image ? formatReference(found.image) : undefined
  const builder = name !== undefined ? local.get(name) : undefined
  if (builder !== undefined) {
    result.notices.push({
      file: image.file,
      line,
      message: `service "${service}" runs ${name}, which service "${builder}" builds here: not pulled, not checked`
    })
    return
  }
  result.references.push(found)
}

/** A node, an alias resolved to what it names. */

/**
 * The Dockerfile a service builds and its args, from its `build:` and those it extends or
 * overrides, earliest first: a later `context` or `dockerfile` wins (a context relative to
 * the file that writes it), args merge key by key. Null for an inline or remote build.
 */
function composeBuild(
  builds: readonly Located[],
  interpolate: (text: string) => string,
  lookup: Lookup
): { dockerfile: string; buildArgs: Record<string, string>; platforms: Located[] } | null {
  let context = posix.dirname(builds[0].file)
  let dockerfile = 'Dockerfile'
  let inline = false
  const buildArgs: Record<string, string> = {}
  // lists merge by appending (compose-go override/merge.go)
  const platforms: Located[] = []
  for (const { document, node: build, file, lineCounter } of builds) {
    const here = (path: string) =>
      path.startsWith('/') ? path : posix.join(posix.dirname(file), path)
    if (isScalar(build)) {
      const written = interpolate(String(build.value))
      if (isRemoteContext(written)) return null
      context = here(written)
      inline = false
      continue
    }
    if (!isMap(build)) return null
    const get = (key: string) => field(document, build, key)
    if (get('dockerfile_inline') !== undefined) inline = true
    const contextNode = get('context')
    const dockerfileNode = get('dockerfile')
    if (isScalar(contextNode)) {
      const written = interpolate(String(contextNode.value))
      if (isRemoteContext(written)) return null
      context = here(written)
    }
    if (isScalar(dockerfileNode)) {
      dockerfile = interpolate(String(dockerfileNode.value))
      inline = false
    }
    const listed = get('platforms')
    for (const item of isSeq(listed) ? listed.items : [])
      if (isNode(item)) platforms.push({ document, node: item, file, lineCounter })
    const args = get('args')
    const entries: [string, string | undefined][] = []
    if (isMap(args)) {
      for (const item of args.items) {
        const key = String(isScalar(item.key) ? item.key.value : item.key)
        entries.push([
          key,
          isScalar(item.value) && item.value.value !== null ? String(item.value.value) : undefined
        ])
      }
    } else if (isSeq(args)) {
      for (const item of args.items) {
        if (!isScalar(item)) continue
        const text = String(item.value)
        const eq = text.indexOf('=')
        entries.push(eq < 0 ? [text, undefined] : [text.slice(0, eq), text.slice(eq + 1)])
      }
    }
    for (const [key, value] of entries) {
      // `- NAME` without a value takes NAME from the environment, as Compose does
      const resolved = value === undefined ? lookup(key) : interpolate(value)
      if (resolved !== undefined) buildArgs[key] = resolved
    }
  }
  if (inline) return null
  const path = dockerfile.startsWith('/') ? dockerfile : posix.join(context, dockerfile)
  return { dockerfile: path, buildArgs, platforms }
}
