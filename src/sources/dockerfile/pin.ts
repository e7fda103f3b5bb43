/**
 * Where a Dockerfile reference's digest goes: the image word of its instruction, found on the
 * file's text (continuation lines, quotes and the `# escape=` character as BuildKit reads
 * them), with its ARG spellings kept when the pin can be written through them. Pure.
 */
import { perFile, setElsewhere, valueSite, type FileText, type PinPlace } from '../read/pin-site.js'
import type { FoundReference } from '../read/source.js'

/** ARGs BuildKit sets per platform: an image named through one is a different image per platform. */
const PLATFORM_ARGS = /^(TARGET|BUILD)(PLATFORM|OS|ARCH|VARIANT)$/

interface Word {
  start: number
  end: number
  text: string
}

export function locateInDockerfile(file: FileText, reference: FoundReference): PinPlace {
  const lineStart = file.offsetOf(reference.line, 1)
  if (reference.kind === 'syntax') {
    const lineText = file.text.slice(lineStart, file.lineEnd(lineStart))
    const equals = lineText.indexOf('=')
    const value = lineText.slice(equals + 1)
    const start = lineStart + equals + 1 + (value.length - value.trimStart().length)
    return valueSite(file, start, lineStart + equals + 1 + value.trimEnd().length)
  }
  const words = instructionWords(file, lineStart, escapeOf(file))
  const value =
    reference.kind === 'from'
      ? unquoted(words.find((word, i) => i > 0 && !word.text.startsWith('--')))
      : reference.kind === 'copy-from'
        ? flagValue(words, /^--from=/i)
        : flagValue(words, /^--mount=(?:.*,)?from=/i)
  if (!value) return { unpinnable: 'its image is not written on its instruction' }
  return valueSite(file, value.start, value.end, name =>
    PLATFORM_ARGS.test(name)
      ? `its image depends on the platform (\`$${name}\`): one digest cannot pin each platform's image`
      : argDefaults(file).has(name)
        ? null
        : setElsewhere(`ARG ${name}`, name)
  )
}

/** The `# escape=` parser directive's character, else the backslash. */
const escapeOf = perFile(file => {
  const directive = /^(?:[ \t]*#[^\n]*\n)*?[ \t]*#[ \t]*escape[ \t]*=[ \t]*([\\`])/i.exec(
    file.text.slice(0, 4096)
  )
  return directive?.[1] ?? '\\'
})

/** The ARGs the file gives a default (`ARG NAME=value`, one or several a line). */
const argDefaults = perFile(file => {
  const names = new Set<string>()
  for (const [, args] of file.text.matchAll(/^[ \t]*ARG[ \t]+([^\n]*)/gim))
    for (const word of args.split(/\s+/)) {
      const equals = word.indexOf('=')
      if (equals > 0) names.add(word.slice(0, equals))
    }
  return names
})

/**
 * The words of the instruction that starts at `at`, with their offsets: over continuation
 * lines (the escape character at a line's end) and the comment lines between them.
 */
function instructionWords(file: FileText, at: number, escape: string): Word[] {
  const { text } = file
  const words: Word[] = []
  let i = at
  while (i < text.length) {
    while (text[i] === ' ' || text[i] === '\t') i++
    if (text[i] === escape && /^[ \t]*\r?\n/.test(text.slice(i + 1, i + 256))) {
      // a continuation: the instruction goes on after the line break and any comment lines
      i = text.indexOf('\n', i) + 1
      while (/^[ \t]*(#|\r?\n)/.test(text.slice(i, i + 256))) i = text.indexOf('\n', i) + 1
      if (i === 0) break
      continue
    }
    if (i >= text.length || text[i] === '\n' || text[i] === '\r') break
    const start = i
    let quote: string | null = null
    while (i < text.length && text[i] !== '\n' && text[i] !== '\r') {
      const c = text[i]
      if (c === escape && quote !== "'" && i + 1 < text.length && text[i + 1] !== '\n') i++
      else if (quote !== null) quote = c === quote ? null : quote
      else if (c === '"' || c === "'") quote = c
      else if (c === ' ' || c === '\t') break
      i++
    }
    words.push({ start, end: i, text: text.slice(start, i) })
  }
  return words
}

/** A word without one pair of quotes around it. */
function unquoted(word: Word | undefined): Word | undefined {
  if (!word) return undefined
  const quote = word.text[0]
  if ((quote === '"' || quote === "'") && word.text.length > 1 && word.text.endsWith(quote))
    return { start: word.start + 1, end: word.end - 1, text: word.text.slice(1, -1) }
  return word
}

/** The value of a flag (`--from=IMAGE`, `--mount=…,from=IMAGE,…`) within its word, up to a comma. */
function flagValue(words: Word[], flag: RegExp): Word | undefined {
  for (const word of words) {
    const match = flag.exec(word.text)
    if (!match || /^\d+(,|$)/.test(word.text.slice(match[0].length))) continue
    const start = word.start + match[0].length
    const comma = word.text.indexOf(',', match[0].length)
    const end = comma < 0 ? word.end : word.start + comma
    return { start, end, text: word.text.slice(start - word.start, end - word.start) }
  }
  return undefined
}
