import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node,
  type YAMLMap
} from 'yaml'
import { InvalidReferenceError, parseReference } from '../reference/reference.js'
import { expand, ExpansionError, type Lookup } from './expand.js'
import { guardedLookup } from './variables.js'
import {
  pinWord,
  type FollowedBuild,
  type FoundReference,
  type Source,
  type SourceScan
} from './source.js'

/** Compose files: services' `image:`, and the Dockerfiles of services that build. */
export const composeSource: Source = {
  name: 'Compose file',
  patterns: [
    '**/compose.y?(a)ml',
    '**/compose.*.y?(a)ml',
    '**/docker-compose.y?(a)ml',
    '**/docker-compose.*.y?(a)ml'
  ],
  // any YAML file the patterns chose that no source before this one claimed
  claims: path => /\.ya?ml$/.test(path),
  kinds: [
    {
      name: 'compose',
      description:
        "a Compose service `image:` for a service that has no `build:` (with `build:`, the Dockerfile it builds is scanned instead, with the service's `build.args`)",
      fence: 'yaml',
      pin: (reference, digest) =>
        `image: ${pinWord(reference.source.replace(/^image:\s*/, ''), digest)}`
    }
  ],
  scan: (file, text, context) => {
    // Compose reads `.env` beside the file; the variables passed in win over it
    const dotenv = context.readBeside('.env')
    const variables = { ...(dotenv ? parseDotenv(dotenv) : {}), ...context.variables }
    return scanCompose(file, text, variables, context.secrets)
  }
}

/**
 * The images a Compose file pulls: `image:` of services without `build:`, interpolated as
 * Compose does; services with `build:` yield the Dockerfile to scan instead. Pure.
 */
export function scanCompose(
  file: string,
  content: string,
  variables: Record<string, string | undefined>,
  secrets: readonly string[] = []
): SourceScan {
  const lookup = guardedLookup(variables, secrets)
  const result: SourceScan = { references: [], warnings: [], errors: [], builds: [] }
  const lineCounter = new LineCounter()
  const document = parseDocument(content, { lineCounter, uniqueKeys: false })
  const position = (node: Node | null | undefined) => lineCounter.linePos(node?.range?.[0] ?? 0)
  if (document.errors.length > 0) {
    const error = document.errors[0]
    const line = error.linePos?.[0].line ?? 1
    result.errors.push({
      file,
      line,
      message: `invalid YAML, file not scanned: ${error.message.split('\n')[0]}`
    })
    return result
  }
  const root = document.contents
  const services = isMap(root) ? field(document, root, 'services') : undefined
  if (!isMap(services)) {
    const legacy =
      isMap(root) &&
      root.items.some(pair => {
        const value = deref(document, pair.value as Node)
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

  const interpolate = (text: string) => expand(text, lookup, { compose: true })
  for (const pair of services.items) {
    const service = String(isScalar(pair.key) ? pair.key.value : pair.key)
    if (service === '<<') continue
    const definition = deref(document, pair.value as Node)
    if (!isMap(definition)) continue
    const get = (key: string) => field(document, definition, key)
    const build = get('build')
    const platformNode = get('platform')
    const platform = isScalar(platformNode) ? String(platformNode.value) : null
    if (build !== undefined && !(isScalar(build) && build.value === null)) {
      const where = position(build)
      try {
        const found = composeBuild(document, build, interpolate, lookup)
        if (found) result.builds.push({ ...found, by: `service "${service}"`, line: where.line })
        else
          result.warnings.push({
            file,
            line: where.line,
            message: `service "${service}": inline or remote build context not scanned`
          })
      } catch (error) {
        if (!(error instanceof ExpansionError)) throw error
        result.errors.push({
          file,
          line: where.line,
          message: `service "${service}" build: ${error.message}`
        })
      }
      continue
    }
    const image = get('image')
    if (!isScalar(image)) continue
    const { line, col } = position(image)
    const raw = String(image.value)
    const found: FoundReference = {
      file,
      line,
      column: col,
      kind: 'compose',
      source: `image: ${raw}`,
      stage: null,
      platform,
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
    result.references.push(found)
  }
  return result
}

/** A node, an alias resolved to what it names. */
function deref(document: Document, node: Node | null | undefined): Node | undefined {
  if (node === null || node === undefined) return undefined
  return isAlias(node) ? ((node.resolve(document) as Node | undefined) ?? undefined) : node
}

/**
 * A key of a mapping as Compose reads it: its own value, else the first merge source
 * (`<<: *base`, `<<: [*a, *b]`) that has it; aliases resolved.
 */
function field(document: Document, map: YAMLMap, key: string, depth = 0): Node | undefined {
  for (const pair of map.items)
    if (isScalar(pair.key) && pair.key.value === key) return deref(document, pair.value as Node)
  if (depth >= 32) return undefined
  for (const pair of map.items) {
    if (!(isScalar(pair.key) && pair.key.value === '<<')) continue
    const value = deref(document, pair.value as Node)
    for (const source of isSeq(value) ? value.items : [value]) {
      const merged = deref(document, source as Node)
      if (!isMap(merged)) continue
      const found = field(document, merged, key, depth + 1)
      if (found !== undefined) return found
    }
  }
  return undefined
}

function composeBuild(
  document: Document,
  build: Node,
  interpolate: (text: string) => string,
  lookup: Lookup
): Omit<FollowedBuild, 'line' | 'by'> | null {
  let context = '.'
  let dockerfile = 'Dockerfile'
  const buildArgs: Record<string, string> = {}
  if (isScalar(build)) {
    context = interpolate(String(build.value))
  } else if (isMap(build)) {
    const get = (key: string) => field(document, build, key)
    if (get('dockerfile_inline') !== undefined) return null
    const contextNode = get('context')
    const dockerfileNode = get('dockerfile')
    if (isScalar(contextNode)) context = interpolate(String(contextNode.value))
    if (isScalar(dockerfileNode)) dockerfile = interpolate(String(dockerfileNode.value))
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
    } else if (args && 'items' in args) {
      for (const item of (args as unknown as { items: Node[] }).items) {
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
  } else {
    return null
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(context) || context.startsWith('git@')) return null
  const path = dockerfile.startsWith('/')
    ? dockerfile
    : `${context.replace(/\/+$/, '')}/${dockerfile}`
  return { dockerfile: path, buildArgs }
}

/** An unquoted `.env` value up to a ` #` comment; one pass (the obvious regular expression is quadratic). */
function withoutComment(value: string): string {
  for (let at = 1; at < value.length; at++) {
    if (value[at] !== '#' || !/\s/.test(value[at - 1])) continue
    let end = at - 1
    while (end > 0 && /\s/.test(value[end - 1])) end--
    return value.slice(0, end)
  }
  return value
}

/** `KEY=VALUE` lines of a Compose `.env` file: comments, `export`, quotes as Compose reads them. */
export function parseDotenv(text: string): Record<string, string> {
  const values: Record<string, string> = {}
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line)
    if (!match) continue
    let value = match[2]
    const quoted = /^(["'])(.*)\1$/.exec(value)
    if (quoted)
      value =
        quoted[1] === '"' ? quoted[2].replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1') : quoted[2]
    else value = withoutComment(value)
    values[match[1]] = value
  }
  return values
}
