/**
 * The one way YAML sources (Compose files, workflows) parse a file: with line positions, the
 * "invalid YAML" error on its line, and a linear guard before the `yaml` library sees the
 * text, since the library is quadratic on long runs of indicators on one line (`}}}}…`,
 * `""""…`, `: : : …`, `&a &a …`) and runs out of memory on deep flow nesting (`[[[[…`): no
 * real file has either.
 */
import { LineCounter, parseDocument, type Document } from 'yaml'
import type { ScanWarning } from './source.js'

/** Indicators one line may hold: flow brackets, quotes, anchors, aliases, tags, `: `. */
export const MAX_FLOW_PER_LINE = 1024
/** How deep `[` and `{` may nest. */
export const MAX_FLOW_DEPTH = 64

export interface ParsedYaml {
  document: Document
  lineCounter: LineCounter
}

/** Parses a YAML file, or says why it is not scanned, on its line. */
export function parseYaml(file: string, text: string): ParsedYaml | { error: ScanWarning } {
  const refused = guard(text)
  if (refused)
    return { error: { file, line: refused.line, message: `not scanned: ${refused.why}` } }
  const lineCounter = new LineCounter()
  const document = parseDocument(text, { lineCounter, uniqueKeys: false })
  if (document.errors.length === 0) return { document, lineCounter }
  const error = document.errors[0]
  return {
    error: {
      file,
      line: error.linePos?.[0].line ?? 1,
      message: `invalid YAML, file not scanned: ${error.message.split('\n')[0]}`
    }
  }
}

/** One pass over the text: brackets per line and their nesting (quotes not told apart: a bound, not a parser). */
function guard(text: string): { line: number; why: string } | null {
  let line = 1
  let onLine = 0
  let depth = 0
  for (let at = 0; at < text.length; at++) {
    const c = text.charCodeAt(at)
    if (c === 10) {
      line++
      onLine = 0
    } else if (c === 91 || c === 123) {
      onLine++
      if (++depth > MAX_FLOW_DEPTH)
        return { line, why: `brackets nested more than ${MAX_FLOW_DEPTH} deep` }
    } else if (c === 93 || c === 125) {
      onLine++
      depth = Math.max(0, depth - 1)
    } else if (
      c === 34 || // "
      c === 39 || // '
      c === 38 || // & anchor
      c === 42 || // * alias
      c === 33 || // ! tag
      (c === 58 && (text.charCodeAt(at + 1) === 32 || text.charCodeAt(at + 1) === 9)) // ": "
    )
      onLine++
    else continue
    if (onLine > MAX_FLOW_PER_LINE)
      return { line, why: `more than ${MAX_FLOW_PER_LINE} YAML indicators on one line` }
  }
  return null
}
