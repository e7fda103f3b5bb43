/**
 * A Compose `.env` file as compose-go's dotenv reads it, its values interpolated as they are
 * read, within the expansion budget of one file. Pure.
 */
import { expand, ExpansionError, FILE_BUDGET_CHARS, type Lookup } from '../read/expand.js'

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

/**
 * `KEY=VALUE` lines of a Compose `.env` file as compose-go's dotenv reads them: comments,
 * `export`, quotes; unquoted and double-quoted values interpolate `${V}`, `${V:-w}`, … from
 * the variables passed in, then the lines above (unset is empty); single-quoted are literal.
 * A line whose interpolation is refused (a secret-looking variable) is left unset.
 */
export function parseDotenv(
  text: string,
  passed: Lookup = () => undefined,
  /** Lines whose values were not expanded, and why. */
  problems: { line: number; message: string }[] = []
): Record<string, string> {
  const values: Record<string, string> = {}
  const lookup: Lookup = name =>
    passed(name) ?? (Object.hasOwn(values, name) ? values[name] : undefined)
  const budget = { chars: FILE_BUDGET_CHARS }
  let lineNumber = 0
  for (const raw of text.split(/\r?\n/)) {
    lineNumber++
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line)
    if (!match) continue
    const quoted = /^(["'])(.*)\1$/.exec(match[2])
    if (quoted?.[1] === "'") {
      values[match[1]] = quoted[2]
      continue
    }
    const value = quoted
      ? quoted[2]
          .replace(/\\n/g, '\n')
          .replace(/\\\$/g, '$$$$')
          .replace(/\\(["\\])/g, '$1')
      : withoutComment(match[2])
    try {
      values[match[1]] = expand(value, lookup, { compose: true, unsetIsEmpty: true, budget })
    } catch (error) {
      if (!(error instanceof ExpansionError)) throw error
      delete values[match[1]]
      problems.push({ line: lineNumber, message: `${match[1]}: ${error.message}` })
      if (budget.chars < 0) break
    }
  }
  return values
}
