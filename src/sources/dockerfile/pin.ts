/**
 * Where a Dockerfile reference's digest goes: the image word of its instruction, found on the
 * file's text (continuation lines, quotes and the `# escape=` character as BuildKit reads
 * them), with its ARG spellings kept when the pin can be written through them. Pure.
 */
import {
  perFile,
  setElsewhere,
  valueSite,
  type FileText,
  type PinPlace,
  ValuesByPlace
} from '../read/pin-site.js'
import type { ImageReference } from '../../reference/reference.js'
import { readDirectives } from './syntax.js'
import type { FoundReference } from '../read/source.js'

/** ARGs BuildKit sets per platform: an image named through one is a different image per platform. */
const PLATFORM_ARGS = /^(TARGET|BUILD)(PLATFORM|OS|ARCH|VARIANT)$/

interface Word {
  start: number
  end: number
  text: string
  /** The escape cuts it and the next line goes on with it. */
  split: boolean
}

export function locateInDockerfile(
  file: FileText,
  reference: FoundReference & { image: ImageReference }
): PinPlace {
  const lineStart = file.offsetOf(reference.line, 1)
  if (reference.kind === 'syntax') {
    const lineText = file.text.slice(lineStart, file.lineEnd(lineStart))
    const equals = lineText.indexOf('=')
    const value = lineText.slice(equals + 1)
    const start = lineStart + equals + 1 + (value.length - value.trimStart().length)
    return valueSite(file, start, lineStart + equals + 1 + value.trimEnd().length)
  }
  // each instruction's words read once, however many of its values are references
  const value = instructionValues(file).get(`${lineStart}\0${reference.kind}`, () => {
    const all = instructionWords(file, lineStart, escapeOf(file))
    const values =
      reference.kind === 'from'
        ? [unquoted(all.find((word, i) => i > 0 && !word.text.startsWith('--')))]
        : flagValues(all, reference.kind === 'copy-from' ? /^--from=/i : /^--mount=/i)
    const words = values.filter((word): word is Word => word !== undefined)
    return words.some(word => word.split)
      ? { unpinnable: 'its image is split over continuation lines: join it to pin it' }
      : words
  })(reference.image)
  if ('unpinnable' in value) return value
  return valueSite(file, value.start, value.end, name =>
    PLATFORM_ARGS.test(name)
      ? `its image depends on the platform (\`$${name}\`): one digest cannot pin each platform's image`
      : argDefaults(file).has(name)
        ? null
        : setElsewhere(`ARG ${name}`, name)
  )
}

const instructionValues = perFile(() => new ValuesByPlace<Word>())

/** The escape character as BuildKit reads the parser directives: in the comment lines at the file's top only. */
const escapeOf = perFile(file => {
  const top = /^(?:[ \t]*#[^\n]*(?:\n|$))*/.exec(file.text)?.[0] ?? ''
  return readDirectives(top.split('\n').map(line => line.replace(/\r$/, ''))).escape
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
 * lines (the escape character, then only blanks, at a line's end) and the comment and empty
 * lines between them. A word the escape cuts with the next line going on at once is `split`.
 */
function instructionWords(file: FileText, at: number, escape: string): Word[] {
  const { text } = file
  const words: Word[] = []
  // where the continuation that starts at `i` goes on: after its line break and any comment
  // or empty lines; -1 when `i` starts none
  const continued = (i: number): number => {
    if (text[i] !== escape) return -1
    let j = i + 1
    while (text[j] === ' ' || text[j] === '\t') j++
    if (text[j] === '\r') j++
    if (text[j] !== '\n') return -1
    j++
    for (;;) {
      let k = j
      while (text[k] === ' ' || text[k] === '\t') k++
      if (text[k] !== '#' && text[k] !== '\n' && text[k] !== '\r') return j
      const next = text.indexOf('\n', k)
      if (next < 0) return text.length
      j = next + 1
    }
  }
  let i = at
  while (i < text.length) {
    while (text[i] === ' ' || text[i] === '\t') i++
    const next = continued(i)
    if (next >= 0) {
      i = next
      continue
    }
    if (i >= text.length || text[i] === '\n' || text[i] === '\r') break
    const start = i
    let quote: string | null = null
    let split = false
    while (i < text.length && text[i] !== '\n' && text[i] !== '\r') {
      const c = text[i]
      const after = c === escape && quote !== "'" ? continued(i) : -1
      if (after >= 0) {
        // BuildKit joins the lines: a word goes on unless the next line starts with a blank
        split = after < text.length && text[after] !== ' ' && text[after] !== '\t'
        break
      }
      if (c === escape && quote !== "'" && i + 1 < text.length) i++
      else if (quote !== null) quote = c === quote ? null : quote
      else if (c === '"' || c === "'") quote = c
      else if (c === ' ' || c === '\t') break
      i++
    }
    words.push({ start, end: i, text: text.slice(start, i), split })
  }
  return words
}

/** A word without one pair of quotes around it. */
function unquoted(word: Word | undefined): Word | undefined {
  if (!word) return undefined
  const quote = word.text[0]
  if ((quote === '"' || quote === "'") && word.text.length > 1 && word.text.endsWith(quote))
    return { ...word, start: word.start + 1, end: word.end - 1, text: word.text.slice(1, -1) }
  return word
}

/** The values of a flag within its words: `--from=IMAGE`, each `from=` of a `--mount=…`, up to a comma. */
function flagValues(words: Word[], flag: RegExp): Word[] {
  const values: Word[] = []
  for (const word of words) {
    const match = flag.exec(word.text)
    if (!match) continue
    const options = /^--mount=/i.test(match[0])
      ? [...word.text.matchAll(/(?<=[=,])from=([^,]*)/gi)].map(m => (m.index ?? 0) + 5)
      : [match[0].length]
    for (const at of options) {
      const comma = word.text.indexOf(',', at)
      const end = comma < 0 ? word.text.length : comma
      const text = word.text.slice(at, end)
      // a stage index is no image
      if (!/^\d+$/.test(text))
        values.push({ start: word.start + at, end: word.start + end, text, split: word.split })
    }
  }
  return values
}
