/**
 * Colour for a terminal, by the conventions of NO_COLOR (no-color.org) and FORCE_COLOR. It is
 * laid over whole lines of text already made inert, by what the line is (a headline, a
 * failure, a table row's finding), so no outside text can carry an escape sequence in.
 */

const RED = '\x1b[31m'
const YELLOW = '\x1b[33m'
const GREEN = '\x1b[32m'
const RESET = '\x1b[0m'

/** FORCE_COLOR (other than 0) colours anywhere; NO_COLOR, when set to anything, never; else a terminal. */
export function wantsColour(
  env: Record<string, string | undefined>,
  terminal: boolean | undefined
): boolean {
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  return terminal === true
}

const LINES: [RegExp, string][] = [
  [/^(?:Base image drift|FAIL)\b/, RED],
  [/^Could not check\b/, YELLOW],
  [/^(?:No drift|Accepted)\b/, GREEN],
  // a table row (or record) whose finding, its last column, is drifted or error
  [/ {2}drifted$/, RED],
  [/ {2}error$/, YELLOW]
]

/** `text` with each line coloured by what it is. */
export function coloured(text: string): string {
  return text
    .split('\n')
    .map(line => {
      const colour = LINES.find(([pattern]) => pattern.test(line))?.[1]
      return colour ? `${colour}${line}${RESET}` : line
    })
    .join('\n')
}
