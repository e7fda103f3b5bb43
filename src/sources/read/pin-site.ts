/**
 * Where a reference's digest is written in its file: the characters a pin replaces, found on
 * the file's own text so that everything around them (quotes, comments, spacing, line
 * endings, variables) stays as written. Pure.
 */
import { isMap, isPair, isScalar, visit, type Scalar, type YAMLMap } from 'yaml'
import { parseYamlStream } from './yaml.js'
import { formatReference, parseReference, type ImageReference } from '../../reference/reference.js'

/**
 * A pin as an edit of the file: the characters from `start` to `end` (offsets in its text;
 * an insertion when equal) become `before + digest + after`. It holds the lines it touches
 * as written, so a pin line can be shown without the file.
 */
export interface PinSite {
  start: number
  end: number
  before: string
  after: string
  /** The first and last line (1-based) the edit touches. */
  line: number
  endLine: number
  /** Those lines as written, without the last one's line break, and the offset they start at. */
  lines: string
  linesStart: number
}

/** Why a reference cannot be pinned where it is written. */
export interface Unpinnable {
  unpinnable: string
}

export type PinPlace = PinSite | Unpinnable

export function isPinSite(place: PinPlace): place is PinSite {
  return !('unpinnable' in place)
}

/** A file's text, with its line starts computed once. */
export class FileText {
  private starts: number[] | null = null

  constructor(
    readonly file: string,
    readonly text: string
  ) {}

  /** The offset of a 1-based line and column. */
  offsetOf(line: number, column: number): number {
    return (this.lineStarts()[line - 1] ?? this.text.length) + column - 1
  }

  /** The 1-based line an offset is on. */
  lineAt(offset: number): number {
    const starts = this.lineStarts()
    let low = 0
    let high = starts.length - 1
    while (low < high) {
      const middle = (low + high + 1) >> 1
      if (starts[middle] <= offset) low = middle
      else high = middle - 1
    }
    return low + 1
  }

  /** Where the line an offset is on ends, before its line break. */
  lineEnd(offset: number): number {
    const next = this.text.indexOf('\n', offset)
    const end = next < 0 ? this.text.length : next
    return end > offset && this.text[end - 1] === '\r' ? end - 1 : end
  }

  /** The file's line break: CRLF when its first line ends so. */
  get lineBreak(): string {
    const first = this.text.indexOf('\n')
    return first > 0 && this.text[first - 1] === '\r' ? '\r\n' : '\n'
  }

  private lineStarts(): number[] {
    if (this.starts === null) {
      this.starts = [0]
      for (let at = this.text.indexOf('\n'); at >= 0; at = this.text.indexOf('\n', at + 1))
        this.starts.push(at + 1)
    }
    return this.starts
  }
}

/**
 * What a locator reads of a whole file (its YAML scalars, its ARG defaults), computed once
 * however many of its references ask: a file of many references is read once, not once each.
 */
export function perFile<T>(compute: (file: FileText) => T): (file: FileText) => T {
  const computed = new WeakMap<FileText, { value: T }>()
  return file => {
    let known = computed.get(file)
    if (!known) {
      known = { value: compute(file) }
      computed.set(file, known)
    }
    return known.value
  }
}

/** An edit of the characters from `start` to `end`, with the lines it touches. */
export function siteOf(
  file: FileText,
  start: number,
  end: number,
  before: string,
  after = ''
): PinSite {
  const line = file.lineAt(start)
  const endLine = file.lineAt(end)
  const linesStart = file.offsetOf(line, 1)
  return {
    start,
    end,
    before,
    after,
    line,
    endLine,
    lines: file.text.slice(linesStart, file.lineEnd(end)),
    linesStart
  }
}

/**
 * The pin of a value written from `start` to `end`: a digest already there is replaced,
 * else one is appended (`redis:7` → `redis:7@sha256:…`, `${TAG}-slim` → `${TAG}-slim@sha256:…`).
 * A variable it names without a default of its own is asked of `unset`: why the pin cannot
 * be written through it, or null when it can.
 */
export function valueSite(
  file: FileText,
  start: number,
  end: number,
  unset: (name: string) => string | null = () => null
): PinPlace {
  const written = file.text.slice(start, end)
  for (const name of variablesWithoutDefault(written)) {
    const why = unset(name)
    if (why !== null) return { unpinnable: why }
  }
  // a name alone is its `latest` tag: written out, so that the pin is still watched by its tag
  if (!/[@$]|:[^/]*$/.test(written)) return siteOf(file, end, end, ':latest@')
  return digestAfter(file, start, end)
}

/** A digest after what is written from `start` to `end` (a reference, a tag): one already there replaced. */
export function digestAfter(file: FileText, start: number, end: number): PinPlace {
  const written = file.text.slice(start, end)
  const at = written.lastIndexOf('@')
  if (at < 0) return siteOf(file, end, end, '@')
  // `${IMAGE:-redis:7@sha256:…}`: the digest is a variable's, written where it is set
  if (/[$}]/.test(written.slice(at)))
    return { unpinnable: 'its digest is in a variable: pin it where the variable is set' }
  return siteOf(file, start + at, end, '@')
}

/** Why a pin cannot be written through a variable set elsewhere. */
export function setElsewhere(variable: string, name: string): string {
  return `its image comes from ${variable}, which has no default here: pin it where ${name} is set`
}

/**
 * The scalar that starts at a reference's line and column, the map it is a value of, and
 * where its text is written (inside its quotes); or why it cannot be rewritten in place.
 */
export function yamlScalarAt(
  file: FileText,
  line: number,
  column: number
): { scalar: Scalar | null; map: YAMLMap | null; start: number; end: number } | Unpinnable {
  const scalars = scalarsOf(file)
  if (scalars === null) return { unpinnable: 'the file is not valid YAML' }
  const offset = file.offsetOf(line, column)
  const found = scalars.get(offset)
  // a value inside a block scalar (a kustomization's inline `patch: |`) is YAML of its own
  if (found === undefined) return inlineScalarAt(file, offset)
  const { scalar, map } = found
  const [start, end] = scalar.range ?? [offset, offset]
  if (scalar.type === 'BLOCK_LITERAL' || scalar.type === 'BLOCK_FOLDED')
    return { unpinnable: 'it is a block scalar (`|` or `>`): write it on one line to pin it' }
  const quoted = scalar.type === 'QUOTE_DOUBLE' || scalar.type === 'QUOTE_SINGLE'
  const inner = quoted ? [start + 1, end - 1] : [start, end]
  // an escape or a folded line would be rewritten wrong: a quoted text must be the value itself
  const text = file.text.slice(inner[0], inner[1])
  if (quoted ? text !== String(scalar.value) : /[\r\n]/.test(text))
    return { unpinnable: 'its value is written with escapes or over several lines' }
  return { scalar, map, start: inner[0], end: inner[1] }
}

/** Each scalar of the file's YAML documents by the offset it starts at, with the map it is a value of; null when the file does not parse. */
const scalarsOf = perFile(readScalars)

function readScalars(file: FileText): Map<number, { scalar: Scalar; map: YAMLMap | null }> | null {
  const parsed = parseYamlStream(file.file, file.text)
  if ('error' in parsed || parsed.documents.some(d => d.errors.length > 0)) return null
  const scalars = new Map<number, { scalar: Scalar; map: YAMLMap | null }>()
  for (const document of parsed.documents)
    visit(document, {
      Scalar(_key, node, path) {
        const parent = path.at(-1)
        const map = isPair(parent) ? path.at(-2) : null
        if (node.range) scalars.set(node.range[0], { scalar: node, map: isMap(map) ? map : null })
      }
    })
  return scalars
}

/** A one-line value read from its first character: quoted, or plain up to a blank, a comma or a bracket. */
function inlineScalarAt(
  file: FileText,
  offset: number
): { scalar: null; map: null; start: number; end: number } | Unpinnable {
  const rest = file.text.slice(offset, file.lineEnd(offset))
  const quote = rest[0]
  const close = quote === '"' || quote === "'" ? rest.indexOf(quote, 1) : -1
  if (close > 0) return { scalar: null, map: null, start: offset + 1, end: offset + close }
  const plain = /^[^\s,\]}"'#]+/.exec(rest)?.[0]
  return plain
    ? { scalar: null, map: null, start: offset, end: offset + plain.length }
    : { unpinnable: 'its value is not written where it is read' }
}

/** A YAML value pinned in place: `image: "redis:7"` → `image: "redis:7@sha256:…"`. */
export function yamlValueSite(
  file: FileText,
  line: number,
  column: number,
  unset?: (name: string) => string | null
): PinPlace {
  const scalar = yamlScalarAt(file, line, column)
  return 'unpinnable' in scalar ? scalar : valueSite(file, scalar.start, scalar.end, unset)
}

/** The pair of a map whose key is `key`. */
export function pairOf(map: YAMLMap, key: string) {
  return map.items.find(pair => isScalar(pair.key) && pair.key.value === key)
}

/**
 * A YAML value the map has under `key`, rewritten whole to the digest (inside its quotes, if
 * it has them), or the key added after the map's last entry (on a line of its own in a block
 * map, after a comma in a flow map); the entries `first` (`newTag: "7"`) go before it.
 */
export function yamlKeySite(
  file: FileText,
  map: YAMLMap,
  key: string,
  first: readonly string[] = []
): PinPlace {
  const pair = pairOf(map, key)
  const keyStart = (node: unknown) => (isScalar(node) ? node.range?.[0] : undefined)
  // each entry on a line of its own at the map's indentation, or after a comma in a flow map
  const separator = (at: number) =>
    map.flow ? ', ' : `${file.lineBreak}${' '.repeat(at - file.offsetOf(file.lineAt(at), 1))}`
  if (pair) {
    const value = pair.value
    const from = keyStart(pair.key)
    if (from === undefined || (value !== null && !isScalar(value)))
      return { unpinnable: `its \`${key}:\` is not a plain value` }
    const colon = file.text.indexOf(':', isScalar(pair.key) ? (pair.key.range?.[1] ?? from) : from)
    // an empty value's range starts at the comment after it, if any: the value goes after the colon
    const range = isScalar(value) ? value.range : undefined
    const [start, end] = range && range[0] < range[1] ? range : [colon + 1, colon + 1]
    const quote =
      isScalar(value) && value.type === 'QUOTE_DOUBLE'
        ? '"'
        : isScalar(value) && value.type === 'QUOTE_SINGLE'
          ? "'"
          : ''
    if (first.length > 0)
      return siteOf(
        file,
        from,
        end,
        `${first.map(e => e + separator(from)).join('')}${key}: ${quote}`,
        quote
      )
    // `digest: ""` takes the digest inside its quotes; `digest:` and `digest: ~` a value
    if (quote) return siteOf(file, start + 1, end - 1, '')
    return start < end && isScalar(value) && value.value !== null
      ? siteOf(file, start, end, '')
      : siteOf(file, colon + 1, end, ' ')
  }
  const last = map.items.at(-1)
  const lastEnd = isScalar(last?.value) ? last.value.range?.[1] : undefined
  const firstKey = keyStart(map.items[0]?.key)
  if (lastEnd === undefined || firstKey === undefined)
    return { unpinnable: 'its entry is not a map of plain values' }
  const entries = [...first, `${key}: `]
  const end = map.flow ? lastEnd : file.lineEnd(lastEnd)
  return siteOf(file, end, end, entries.map(e => separator(firstKey) + e).join(''))
}

/**
 * The variables a value names (`$NAME`, `${NAME}`, `${NAME:+x}`) without a default of its
 * own (`${NAME:-x}`, `${NAME-x}`); `$$` is a dollar sign.
 */
export function variablesWithoutDefault(value: string): string[] {
  const names: string[] = []
  // bounded: a value is one reference as written
  for (const [, braced, hasDefault, bare] of value.slice(0, 1024).matchAll(VARIABLE))
    if ((braced !== undefined && hasDefault === undefined) || bare !== undefined)
      names.push(braced ?? bare)
  return names
}

const VARIABLE =
  /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)|:?[+?])?[^}]*\}|\$([A-Za-z_][A-Za-z0-9_]*)/g

/**
 * The value after `prefix` on a line (`base=docker-image://alpine:3.20`, a Bake context's
 * `"docker-image://…"`), up to a quote, a comma or white space: of several, the reference's.
 */
export function prefixedValueSite(
  file: FileText,
  reference: { line: number; image: ImageReference },
  prefix: string,
  unset?: (name: string) => string | null
): PinPlace {
  const value = prefixedValues(file).get(`${reference.line}\0${prefix}`, () => {
    const lineStart = file.offsetOf(reference.line, 1)
    const lineText = file.text.slice(lineStart, file.lineEnd(lineStart))
    const values: { start: number; end: number; text: string }[] = []
    for (let at = lineText.indexOf(prefix); at >= 0; at = lineText.indexOf(prefix, at + 1)) {
      const text = /^[^"'\s,]*/.exec(lineText.slice(at + prefix.length))?.[0] ?? ''
      const start = lineStart + at + prefix.length
      values.push({ start, end: start + text.length, text })
    }
    return values
  })(reference.image)
  return 'unpinnable' in value ? value : valueSite(file, value.start, value.end, unset)
}

const prefixedValues = perFile(
  () => new ValuesByPlace<{ start: number; end: number; text: string }>()
)

/**
 * The values of each place of a file (a line, an instruction), read once and indexed by the
 * image they name: a line of thousands of values costs its length, not its length for each.
 */
export class ValuesByPlace<Value extends { text: string }> {
  private readonly places = new Map<string, (image: ImageReference) => Value | Unpinnable>()

  /** The place's values by image; `read` says why none can be pinned when none can. */
  get(
    place: string,
    read: () => readonly Value[] | Unpinnable
  ): (image: ImageReference) => Value | Unpinnable {
    let naming = this.places.get(place)
    if (!naming) {
      const values = read()
      naming = 'unpinnable' in values ? () => values : valueNaming(values)
      this.places.set(place, naming)
    }
    return naming
  }
}

/**
 * Of the values a line or an instruction writes, the one that is a reference's image:
 * written as it, digest and all (`redis:7` is `docker.io/library/redis:7`), else naming it
 * with another digest, else the one value written through variables.
 */
function valueNaming<Value extends { text: string }>(
  values: readonly Value[]
): (image: ImageReference) => Value | Unpinnable {
  const exactly = new Map<string, Value>()
  const byName = new Map<string, Value>()
  const throughVariables = values.filter(value => value.text.includes('$'))
  for (const value of values) {
    if (value.text.includes('$')) continue
    const image = parsed(value.text)
    if (!image) continue
    if (!exactly.has(formatReference(image))) exactly.set(formatReference(image), value)
    const name = formatReference({ ...image, digest: undefined })
    if (!byName.has(name)) byName.set(name, value)
  }
  return image =>
    exactly.get(formatReference(image)) ??
    byName.get(formatReference({ ...image, digest: undefined })) ??
    (throughVariables.length === 1
      ? throughVariables[0]
      : throughVariables.length > 1
        ? { unpinnable: 'its line names several images through variables: pin each by hand' }
        : { unpinnable: 'its image is not written where it is read' })
}

function parsed(text: string): ImageReference | null {
  try {
    return parseReference(text)
  } catch {
    return null
  }
}
