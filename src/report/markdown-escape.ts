/**
 * Strings from repository files and registries, made inert for GitHub Markdown (the job
 * summary, the pull-request comment, the check run): they cannot break a table, open HTML,
 * format, link, or mention anyone. Everything we did not write goes through one of these.
 */

/** Breaks what GitHub would turn into a mention or an autolink, with an invisible space. */
function defuse(text: string): string {
  return text
    .replace(/@/g, '@&#8203;')
    .replace(/:\/\//g, ':&#8203;//')
    .replace(/www\./gi, m => `${m.slice(0, 3)}&#8203;.`)
}

/** Text in running prose or a table cell: one line, every Markdown character literal. */
export function mdText(text: string): string {
  return defuse(
    text
      .replace(/[\r\n]+/g, ' ')
      .replace(/[\\`*[\]#!|<>~&]/g, c => (c === '&' ? '&amp;' : `\\${c}`))
      // `_` inside a word (PYTHON_VERSION) never emphasizes: left as written
      .replace(/(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, '\\_')
  )
}

/**
 * A code span: shown as written, nothing inside it renders. One line, fenced with more
 * backticks than any run inside; in a table cell (`cell`), pipes escaped so it stays one cell.
 */
export function mdCode(text: string, cell = false): string {
  const oneLine = text.replace(/[\r\n]+/g, ' ')
  const line = cell ? oneLine.replace(/\|/g, '\\|') : oneLine
  const longest = Math.max(0, ...(line.match(/`+/g) ?? []).map(run => run.length))
  const fence = '`'.repeat(longest + 1)
  const pad = line.startsWith('`') || line.endsWith('`') ? ' ' : ''
  return `${fence}${pad}${line}${pad}${fence}`
}

/** A fenced code block's fence: longer than any backtick run in the lines it holds. */
export function mdFence(lines: string[]): string {
  const longest = Math.max(0, ...lines.flatMap(l => (l.match(/`+/g) ?? []).map(r => r.length)))
  return '`'.repeat(Math.max(3, longest + 1))
}
