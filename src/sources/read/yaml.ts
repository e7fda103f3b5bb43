/**
 * The one way YAML sources (Compose files, workflows, manifests) parse a file: with line positions, the
 * "invalid YAML" error on its line, and a linear guard before the `yaml` library sees the
 * text, since the library is quadratic on long runs of indicators on one line (`}}}}…`,
 * `""""…`, `: : : …`, `&a &a …`) and runs out of memory or stack on deep nesting (`[[[[…`,
 * `- - - - …`): no real file has either.
 */
import {
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  parseDocument,
  visit,
  type Document,
  type Node,
  type YAMLMap
} from 'yaml'
import type { ScanProblem } from './text.js'

/** Indicators one line may hold: flow brackets, quotes, anchors, aliases, tags, `: `, `- `, `? `. */
export const MAX_FLOW_PER_LINE = 1024
/** How deep `[` and `{` may nest. */
export const MAX_FLOW_DEPTH = 64
/**
 * What one document may hold of what costs the library most per byte: flow punctuation
 * (`,` inside brackets, brackets that close nothing) and lines that open or close a
 * double-quoted string over lines (an odd number of `"`). Each such token that goes wrong is
 * an error the library builds at length; ordinary block YAML holds few of either.
 */
export const MAX_FLOW_PER_DOCUMENT = 32_768
export const MAX_OPEN_QUOTE_LINES = 4096

export interface ParsedYaml {
  document: Document
  lineCounter: LineCounter
}

/** Parses a YAML file of one document, or says why it is not scanned, on its line. */
export function parseYaml(file: string, text: string): ParsedYaml | { error: ScanProblem } {
  const parsed = parseYamlDocuments(file, text, false)
  return 'error' in parsed
    ? parsed
    : { document: parsed.documents[0], lineCounter: parsed.lineCounter }
}

/** Parses a YAML stream (`---` between documents), or says why it is not scanned, on its line. */
export function parseYamlDocuments(
  file: string,
  text: string,
  many = true
): { documents: Document[]; lineCounter: LineCounter } | { error: ScanProblem } {
  const parsed = parseYamlStream(file, text, many)
  if ('error' in parsed) return parsed
  const error = parsed.documents.flatMap(d => d.errors).at(0)
  if (error === undefined) return parsed
  return { error: yamlError(file, error, 'file') }
}

/**
 * Parses a YAML stream into its documents, each with its own errors, so that one document
 * that does not parse leaves the others readable; refused as a whole only by the guard.
 */
export function parseYamlStream(
  file: string,
  text: string,
  many = true
): { documents: Document[]; lineCounter: LineCounter } | { error: ScanProblem } {
  const refused = guard(text)
  if (refused)
    return { error: { file, line: refused.line, message: `not scanned: ${refused.why}` } }
  const lineCounter = new LineCounter()
  const options = { lineCounter, uniqueKeys: false }
  // an empty stream is no documents
  const documents: Document[] = many
    ? [...parseAllDocuments(text, options)]
    : [parseDocument(text, options)]
  return { documents, lineCounter }
}

/** A parse error as a scan error on its line: the `file` or `document` was not scanned. */
export function yamlError(
  file: string,
  error: Document['errors'][number],
  what: 'file' | 'document'
): ScanProblem {
  return {
    file,
    line: error.linePos?.[0].line ?? 1,
    message: `invalid YAML, ${what} not scanned: ${error.message.split('\n')[0]}`
  }
}

/** Where a node starts: its line and column, 1-based. */
export function positionOf(lineCounter: LineCounter, node: unknown): { line: number; col: number } {
  return lineCounter.linePos((isNode(node) ? node.range?.[0] : undefined) ?? 0)
}

/** A scalar's text, or null for anything else (a map, a list, `null`). */
export function scalarText(node: unknown): string | null {
  return isScalar(node) && node.value !== null ? String(node.value) : null
}

/** Each document's anchors by name, in the order they are written: built once, in one pass. */
const ANCHORS = new WeakMap<Document, Map<string, { at: number; node: Node }[]>>()

function anchorsOf(document: Document): Map<string, { at: number; node: Node }[]> {
  let anchors = ANCHORS.get(document)
  if (!anchors) {
    const found = new Map<string, { at: number; node: Node }[]>()
    visit(document, {
      Node(_, node) {
        if (!isAlias(node) && node.anchor) {
          const list = found.get(node.anchor) ?? []
          list.push({ at: node.range?.[0] ?? 0, node })
          found.set(node.anchor, list)
        }
      }
    })
    anchors = found
    ANCHORS.set(document, anchors)
  }
  return anchors
}

/**
 * An alias's node, as YAML resolves it: the last anchor of that name written before it. From
 * the document's index of anchors, never by walking the document for each alias (6,000
 * aliases in one Pod were 45 s of walks).
 */
export function deref(document: Document, node: unknown): Node | undefined {
  if (!isNode(node)) return undefined
  if (!isAlias(node)) return node
  const candidates = anchorsOf(document).get(node.source)
  if (!candidates) return undefined
  const at = node.range?.[0] ?? Infinity
  // the last one before the alias: binary search over positions in writing order
  let low = 0
  let high = candidates.length - 1
  let best: Node | undefined
  while (low <= high) {
    const middle = (low + high) >> 1
    if (candidates[middle].at < at) {
      best = candidates[middle].node
      low = middle + 1
    } else high = middle - 1
  }
  return best
}

/**
 * A key of a mapping as YAML tools read it: its own value, else the first merge source
 * (`<<: *base`, `<<: [*a, *b]`) that has it, depth first; aliases resolved. Each map is
 * looked in once: merge sources that repeat (`<<: [*m, *m]` at each of 24 levels) cost
 * their number, not 2^24.
 */
export function field(document: Document, map: YAMLMap, key: string): Node | undefined {
  const own = (current: YAMLMap): Node | undefined => {
    for (const pair of current.items)
      if (isScalar(pair.key) && pair.key.value === key) return deref(document, pair.value)
    return undefined
  }
  const found = own(map)
  if (found !== undefined) return found
  // merge sources only where there are any: most lookups end above, with nothing allocated
  const seen = new Set<YAMLMap>([map])
  const merged = (current: YAMLMap, depth: number): Node | undefined => {
    if (depth >= 32) return undefined
    for (const pair of current.items) {
      if (!(isScalar(pair.key) && pair.key.value === '<<')) continue
      const value = deref(document, pair.value)
      for (const source of isSeq(value) ? value.items : [value]) {
        const next = deref(document, source)
        if (!isMap(next) || seen.has(next)) continue
        seen.add(next)
        const inNext = own(next) ?? merged(next, depth + 1)
        if (inNext !== undefined) return inNext
      }
    }
    return undefined
  }
  return merged(map, 0)
}

/** One pass over the text: brackets per line and their nesting, and the costly tokens of the whole (quotes not told apart: a bound, not a parser). */
function guard(text: string): { line: number; why: string } | null {
  let line = 1
  let onLine = 0
  let depth = 0
  let flow = 0
  let quotesOnLine = 0
  let openQuoteLines = 0
  for (let at = 0; at <= text.length; at++) {
    const c = at < text.length ? text.charCodeAt(at) : 10
    if (c === 10) {
      if (quotesOnLine % 2 === 1 && ++openQuoteLines > MAX_OPEN_QUOTE_LINES)
        return {
          line,
          why: `more than ${MAX_OPEN_QUOTE_LINES} lines open or close a quoted string in one document`
        }
      line++
      onLine = 0
      quotesOnLine = 0
      continue
    }
    if (c === 91 || c === 123) {
      onLine++
      flow++
      if (++depth > MAX_FLOW_DEPTH)
        return { line, why: `brackets nested more than ${MAX_FLOW_DEPTH} deep` }
    } else if (c === 93 || c === 125) {
      onLine++
      flow++
      depth = Math.max(0, depth - 1)
    } else if (c === 44) {
      // a comma is flow punctuation only inside brackets
      if (depth === 0) continue
      flow++
    } else if (
      c === 34 || // "
      c === 39 || // '
      c === 38 || // & anchor
      c === 42 || // * alias
      c === 33 || // ! tag
      (c === 58 && (text.charCodeAt(at + 1) === 32 || text.charCodeAt(at + 1) === 9)) || // ": "
      // "- " and "? " after a space: `- - - …` nests a sequence per dash, deep enough to
      // overflow the library's stack
      ((c === 45 || c === 63) &&
        (text.charCodeAt(at + 1) === 32 || text.charCodeAt(at + 1) === 9) &&
        (at === 0 || text.charCodeAt(at - 1) === 32 || text.charCodeAt(at - 1) === 9))
    ) {
      onLine++
      if (c === 34) quotesOnLine++
    } else continue
    if (onLine > MAX_FLOW_PER_LINE)
      return { line, why: `more than ${MAX_FLOW_PER_LINE} YAML indicators on one line` }
    if (flow > MAX_FLOW_PER_DOCUMENT)
      return {
        line,
        why: `more than ${MAX_FLOW_PER_DOCUMENT} flow brackets and commas in one document`
      }
  }
  return null
}
