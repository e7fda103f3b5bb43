/**
 * GitHub's `${{ … }}` expressions in a workflow's values, as far as they are known before the
 * run: `env.X` from literal `env:` entries, and `matrix.x` from a literal matrix. Anything
 * else is known only at run time, and said so. Pure.
 */
import { valueAt, type Combination } from './matrix.js'

/**
 * The `${{ … }}` expressions of a value, in one pass: each `${{` to the next `}}` (a lazy
 * regular expression would rescan the rest of the value from every unclosed `${{`).
 */
export function expressionsIn(text: string): { start: number; end: number; inner: string }[] {
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
export function replaceExpressions(text: string, replace: (inner: string) => string): string {
  let out = ''
  let from = 0
  for (const e of expressionsIn(text)) {
    out += text.slice(from, e.start) + replace(e.inner)
    from = e.end
  }
  return out + text.slice(from)
}

/** The texts an image value takes: its `${{ matrix.x }}` and `${{ env.X }}` filled in, or why it is known only at run time. */
export function substitute(
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
        : (valueAt(combination, matrixPath(expression) ?? '') ?? '')
    )
  const texts = usesMatrix
    ? (combinations ?? [])
        .filter(c =>
          expressions.every(
            e => !e.startsWith('matrix.') || valueAt(c, matrixPath(e) ?? '') !== undefined
          )
        )
        .map(fill)
    : [fill({})]
  return { texts: [...new Set(texts)] }
}
