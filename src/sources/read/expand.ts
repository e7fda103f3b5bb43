/**
 * Variable expansion of one word, as BuildKit's shell lexer does it for Dockerfiles and as
 * Compose interpolates its files: `$V`, `${V}`, `${V:-w}`, `${V-w}`, `${V:+w}`, `${V+w}`
 * (Compose also `${V:?e}`, `${V?e}`); `w` may itself contain variables.
 */

import { excerpt } from './text.js'

export interface ExpandOptions {
  /** Dockerfile escape character (`\` or a backtick) that makes the next character literal. */
  escape?: string
  /** Compose: `$$` is a literal `$`; quotes are plain characters. */
  compose?: boolean
  /** An unset `$V` is empty instead of an error (as a Compose `.env` file reads it). */
  unsetIsEmpty?: boolean
  /** Characters the expansions of a whole file may make, shared by its values; spent as they are made. */
  budget?: { chars: number }
}

/** The longest value an expansion makes: an image reference is at most a few hundred characters. */
export const MAX_EXPANDED_CHARS = 64 * 1024

export type Lookup = (name: string) => string | undefined

/** Thrown for an expansion that cannot be determined statically. */
export class ExpansionError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ExpansionError'
  }
}

/** What one file's expansions may make in all (a `.env` of values built from each other). */
export const FILE_BUDGET_CHARS = 1024 * 1024

/** Deeper `${A:-${B:-…}}` nesting is refused: no real file needs it, and each level costs stack. */
export const MAX_NESTING = 64

const NAME_START = /[A-Za-z_]/
const NAME_CHAR = /[A-Za-z0-9_]/

export function expand(word: string, lookup: Lookup, options: ExpandOptions = {}): string {
  return new Expander(word, lookup, options).word()
}

class Expander {
  private at = 0
  private depth = 0

  constructor(
    private readonly text: string,
    private readonly lookup: Lookup,
    private readonly options: ExpandOptions
  ) {}

  word(stopAtBrace = false): string {
    let out = ''
    let quote: '"' | "'" | null = null
    const escape = this.options.compose ? null : (this.options.escape ?? '\\')
    while (this.at < this.text.length) {
      const c = this.text[this.at]
      if (stopAtBrace && quote === null && c === '}') break
      if (quote === "'") {
        this.at++
        if (c === "'") quote = null
        else out += c
        continue
      }
      if (escape !== null && c === escape && this.at + 1 < this.text.length) {
        out += this.text[this.at + 1]
        this.at += 2
        continue
      }
      if (!this.options.compose && (c === '"' || c === "'")) {
        if (quote === c) quote = null
        else if (quote === null) quote = c
        else out += c
        this.at++
        continue
      }
      if (c === '$') {
        const value = this.variable()
        // counted before it is kept: values that each double the last grow without end
        if (out.length + value.length > MAX_EXPANDED_CHARS)
          throw new ExpansionError(
            `"${excerpt(this.text)}" expands to more than ${MAX_EXPANDED_CHARS / 1024} KiB; not expanded`
          )
        if (this.options.budget) {
          this.options.budget.chars -= value.length
          if (this.options.budget.chars < 0)
            throw new ExpansionError(
              `the file's expansions make more than ${FILE_BUDGET_CHARS / (1024 * 1024)} MiB; "${excerpt(this.text)}" and what follows are not expanded`
            )
        }
        out += value
        continue
      }
      out += c
      this.at++
    }
    if (quote !== null && !stopAtBrace)
      throw new ExpansionError(`unterminated ${quote} quote in "${excerpt(this.text)}"`)
    return out
  }

  private variable(): string {
    this.at++ // $
    const next = this.text[this.at]
    if (this.options.compose && next === '$') {
      this.at++
      return '$'
    }
    if (next === '{') {
      this.at++
      return this.braced()
    }
    if (next === undefined || !NAME_START.test(next)) return '$'
    const name = this.name()
    return this.value(name)
  }

  private braced(): string {
    if (this.depth >= MAX_NESTING)
      throw new ExpansionError(
        `variables nested more than ${MAX_NESTING} deep in "${excerpt(this.text)}"; not expanded`
      )
    this.depth++
    try {
      return this.substitution()
    } finally {
      this.depth--
    }
  }

  private substitution(): string {
    const name = this.name()
    if (name === '')
      throw new ExpansionError(
        `bad substitution in "${excerpt(this.text)}": \${ must be followed by a variable name`
      )
    if (this.text[this.at] === '}') {
      this.at++
      return this.value(name)
    }
    let operator = this.text[this.at] ?? ''
    if (operator === ':') operator += this.text[this.at + 1] ?? ''
    const allowed = this.options.compose
      ? [':-', '-', ':+', '+', ':?', '?']
      : [':-', '-', ':+', '+']
    if (!allowed.includes(operator)) {
      throw new ExpansionError(
        `unsupported substitution "\${${name}${operator}…}" in "${excerpt(this.text)}": use one of ${allowed.map(o => `\${${name}${o}word}`).join(', ')}`
      )
    }
    this.at += operator.length
    const word = this.word(true)
    if (this.text[this.at] !== '}')
      throw new ExpansionError(`missing "}" in "${excerpt(this.text)}"`)
    this.at++
    const value = this.lookup(name)
    const colon = operator.startsWith(':')
    const set = colon ? (value === '' ? undefined : value) : value
    switch (operator.slice(-1)) {
      case '-':
        return set ?? word
      case '+':
        return set !== undefined ? word : ''
      default:
        if (set === undefined)
          throw new ExpansionError(`variable ${name} is required: ${word || 'not set'}`)
        return set
    }
  }

  private name(): string {
    const start = this.at
    if (this.at < this.text.length && NAME_START.test(this.text[this.at])) {
      this.at++
      while (this.at < this.text.length && NAME_CHAR.test(this.text[this.at])) this.at++
    }
    return this.text.slice(start, this.at)
  }

  private value(name: string): string {
    const value = this.lookup(name)
    if (value === undefined && this.options.unsetIsEmpty) return ''
    if (value === undefined)
      throw new ExpansionError(`variable ${name} is not set and has no default`)
    return value
  }
}
