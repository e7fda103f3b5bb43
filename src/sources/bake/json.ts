/**
 * `docker-bake.json` as the same blocks an HCL file gives, read as outside data: a section or
 * target that is not an object is an error naming it, as Bake refuses it.
 */
import { isRecord } from '../../json.js'
import { HclError, parseHclString, type Block, type Body, type Expr } from '../read/hcl.js'

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
export function fromJson(text: string): Body {
  const document: unknown = JSON.parse(text)
  if (!isRecord(document)) throw new HclError('a Bake JSON file is an object of sections', 1)
  const lineOf = firstLines(text)
  const toExpr = (value: unknown, line: number): Expr => {
    if (typeof value === 'string') return parseHclString(value, line)
    if (Array.isArray(value)) return { type: 'tuple', items: value.map(v => toExpr(v, line)), line }
    if (isRecord(value))
      return {
        type: 'object',
        items: Object.entries(value).map(([key, v]) => {
          const at = lineOf(key)
          return { key, value: toExpr(v, at), line: at }
        }),
        line
      }
    if (typeof value === 'number' || typeof value === 'boolean' || value === null)
      return { type: 'literal', value, line }
    return { type: 'literal', value: null, line }
  }
  const blocks: Block[] = []
  for (const type of ['variable', 'target', 'group']) {
    const section = document[type] ?? {}
    if (!isRecord(section)) throw new HclError(`"${type}" is not an object of names`, lineOf(type))
    for (const [label, attributes] of Object.entries(section)) {
      const line = lineOf(label)
      if (!isRecord(attributes))
        throw new HclError(`${type} "${label}" is not an object of attributes`, line)
      blocks.push({
        type,
        labels: [label],
        line,
        body: {
          blocks: [],
          attributes: Object.entries(attributes).map(([name, value]) => ({
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
