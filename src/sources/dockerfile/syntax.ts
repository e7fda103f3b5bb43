/**
 * Dockerfile syntax as BuildKit's parser reads it: parser directives, instructions joined
 * across continuation lines (with the `# escape=` character), comment lines inside
 * continuations dropped, heredoc bodies consumed as text. Positions are 1-based.
 */
import { excerpt } from '../read/source.js'

export interface Directive {
  name: string
  value: string
  line: number
  column: number
  text: string
}

export interface Instruction {
  /** Lowercased keyword: `from`, `copy`, … */
  keyword: string
  /** Everything after the keyword, continuations joined. */
  args: string
  line: number
  column: number
  /** The instruction as written, continuations joined. */
  text: string
}

export interface DockerfileSyntax {
  directives: Directive[]
  escape: string
  instructions: Instruction[]
  /** Problems with the file as a whole, each with the line it is on. */
  problems: { line: number; message: string }[]
}

const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check'])
const HEREDOC_KEYWORDS = new Set(['run', 'copy', 'add'])
const HEREDOC_WORD = /^\d*<<(-?)(.+)$/

/**
 * The parser directives at the top of the file, up to its first other line, and the escape
 * character they set; `end` is the index of the first line after them. Only the top is read:
 * a file's escape character is known without parsing the rest.
 */
export function readDirectives(lines: readonly string[]): {
  directives: Directive[]
  escape: string
  problems: { line: number; message: string }[]
  end: number
} {
  const directives: Directive[] = []
  const problems: { line: number; message: string }[] = []
  let escape = '\\'
  let index = 0
  for (; index < lines.length; index++) {
    const match = parseDirective(lines[index])
    if (!match || !KNOWN_DIRECTIVES.has(match.name.toLowerCase())) break
    const name = match.name.toLowerCase()
    if (directives.some(d => d.name === name)) {
      problems.push({
        line: index + 1,
        message: `only one "# ${name}=" parser directive is allowed`
      })
      continue
    }
    const column = lines[index].length - lines[index].trimStart().length + 1
    directives.push({
      name,
      value: match.value,
      line: index + 1,
      column,
      text: lines[index].trim()
    })
  }
  const escapeDirective = directives.find(d => d.name === 'escape')
  if (escapeDirective) {
    if (escapeDirective.value === '\\' || escapeDirective.value === '`')
      escape = escapeDirective.value
    else
      problems.push({
        line: escapeDirective.line,
        message: `invalid escape character "${excerpt(escapeDirective.value)}": use \\ or \``
      })
  }
  return { directives, escape, problems, end: index }
}

export function parseDockerfileSyntax(content: string): DockerfileSyntax {
  const lines = content
    .replace(/^\uFEFF/, '')
    .split('\n')
    .map(l => (l.endsWith('\r') ? l.slice(0, -1) : l))
  const { directives, escape, problems, end } = readDirectives(lines)
  const result: DockerfileSyntax = { directives, escape, instructions: [], problems }
  let index = end

  const continuation = new RegExp(`${escapeRegExp(result.escape)}[ \\t]*$`)
  const isComment = (line: string) => line.trimStart().startsWith('#')
  while (index < lines.length) {
    const first = lines[index]
    const line = index + 1
    index++
    const trimmed = first.trimStart()
    if (trimmed === '' || isComment(first)) continue
    const column = first.length - trimmed.length + 1
    let text = trimmed
    let open = continuation.test(text)
    if (open) text = text.replace(continuation, '')
    while (open && index < lines.length) {
      const next = lines[index]
      index++
      if (isComment(next) || next.trim() === '') continue
      open = continuation.test(next)
      text += open ? next.replace(continuation, '') : next
    }
    const keywordMatch = /^(\S+)\s*/.exec(text)
    // a lone continuation character joins nothing: no instruction
    if (!keywordMatch) continue
    const keyword = keywordMatch[1].toLowerCase()
    const args = text.slice(keywordMatch[0].length).trimEnd()
    result.instructions.push({ keyword, args, line, column, text: text.trimEnd() })
    if (HEREDOC_KEYWORDS.has(keyword) && args.includes('<<')) {
      for (const heredoc of heredocs(args, result.escape)) {
        while (index < lines.length) {
          const body = lines[index]
          index++
          if ((heredoc.chomp ? body.replace(/^\t+/, '') : body) === heredoc.name) break
        }
      }
    }
  }
  return result
}

/** Splits on unquoted white space, keeping quotes and escapes as written. */
export function splitWords(text: string, escape: string): string[] {
  const words: string[] = []
  let current = ''
  let quote: string | null = null
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === escape && i + 1 < text.length && quote !== "'") {
      current += c + text[i + 1]
      i++
    } else if (quote !== null) {
      if (c === quote) quote = null
      current += c
    } else if (c === '"' || c === "'") {
      quote = c
      current += c
    } else if (/\s/.test(c)) {
      if (current !== '') words.push(current)
      current = ''
    } else {
      current += c
    }
  }
  if (current !== '') words.push(current)
  return words
}

/** Leading `--name=value` words of an instruction, and the words after them. */
export function splitFlags(
  args: string,
  escape: string
): { flags: Map<string, string[]>; rest: string[] } {
  const words = splitWords(args, escape)
  const flags = new Map<string, string[]>()
  let i = 0
  for (; i < words.length && words[i].startsWith('--'); i++) {
    const word = words[i]
    if (word === '--') {
      i++
      break
    }
    const eq = word.indexOf('=')
    const name = (eq < 0 ? word.slice(2) : word.slice(2, eq)).toLowerCase()
    flags.set(name, [...(flags.get(name) ?? []), eq < 0 ? '' : word.slice(eq + 1)])
  }
  return { flags, rest: words.slice(i) }
}

function heredocs(args: string, escape: string): { name: string; chomp: boolean }[] {
  const found: { name: string; chomp: boolean }[] = []
  for (const word of splitWords(args, escape)) {
    const match = HEREDOC_WORD.exec(word)
    if (!match) continue
    const name = match[2].replace(/^(["'])(.*)\1$/, '$2')
    if (name !== '' && !name.includes('<')) found.push({ name, chomp: match[1] === '-' })
  }
  return found
}

/**
 * `# name=value` → name and value, trimmed; null for any other line. By hand, in one pass:
 * a regular expression with a lazy value and trailing blanks is quadratic in a line of spaces.
 */
function parseDirective(line: string): { name: string; value: string } | null {
  let at = 0
  const skipBlanks = () => {
    while (at < line.length && /\s/.test(line[at])) at++
  }
  skipBlanks()
  if (line[at] !== '#') return null
  at++
  skipBlanks()
  const start = at
  if (!/[a-zA-Z]/.test(line[at] ?? '')) return null
  while (at < line.length && /[a-zA-Z0-9]/.test(line[at])) at++
  const name = line.slice(start, at)
  skipBlanks()
  if (line[at] !== '=') return null
  const value = line.slice(at + 1).trim()
  return value === '' ? null : { name, value }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
