/**
 * The part of HCL's native syntax that Buildx Bake files use, with line numbers: blocks,
 * attributes, strings with `${…}` interpolation, heredocs, lists, objects, numbers, bools,
 * variable references, function calls with their arguments, operators and conditionals, by
 * HCL's precedence. Anything else (`for` expressions, splats, indexes) is kept as
 * `unsupported` on its line, never guessed. One pass; nesting is limited, so a hostile file
 * cannot exhaust the stack. Pure.
 */

export type Expr =
  | { type: 'template'; parts: (string | Expr)[]; line: number }
  | { type: 'literal'; value: string | number | boolean | null; line: number }
  | { type: 'tuple'; items: Expr[]; line: number }
  | { type: 'object'; items: { key: string; value: Expr; line: number }[]; line: number }
  | { type: 'variable'; name: string; line: number }
  | { type: 'call'; name: string; args: Expr[]; line: number }
  | { type: 'operation'; operator: string; operands: Expr[]; line: number }
  | { type: 'conditional'; condition: Expr; then: Expr; otherwise: Expr; line: number }
  | { type: 'unsupported'; text: string; line: number }

export interface Attribute {
  name: string
  value: Expr
  line: number
}

export interface Block {
  type: string
  labels: string[]
  body: Body
  line: number
}

export interface Body {
  attributes: Attribute[]
  blocks: Block[]
}

export class HclError extends Error {
  constructor(
    message: string,
    readonly line: number
  ) {
    super(message)
    this.name = 'HclError'
  }
}

const MAX_DEPTH = 64
/** Operators a file may hold: no real Bake file comes near. */
const MAX_OPERATIONS = 4096
/** Binary operators by HCL's precedence, loosest first; longer spellings before their prefixes. */
const OPERATORS = [
  ['||'],
  ['&&'],
  ['==', '!='],
  ['<=', '>=', '<', '>'],
  ['+', '-'],
  ['*', '/', '%']
]
const IDENTIFIER_START = /[A-Za-z_]/
const IDENTIFIER = /[A-Za-z0-9_-]/

export function parseHcl(text: string): Body {
  return new Parser(text).document()
}

/** A JSON string value of a Bake file, with its `${…}` interpolations, as a template. */
export function parseHclString(text: string, line: number): Expr {
  return { ...new Parser(text).template(false, true), line }
}

class Parser {
  private at = 0
  private line = 1
  private depth = 0
  private operations = 0

  constructor(private readonly text: string) {}

  document(): Body {
    const body = this.body()
    this.skip(true)
    if (this.at < this.text.length) this.fail(`unexpected "${this.text[this.at]}"`)
    return body
  }

  private fail(message: string): never {
    throw new HclError(message, this.line)
  }

  private peek(offset = 0): string {
    return this.text[this.at + offset] ?? ''
  }

  private advance(): string {
    const c = this.text[this.at++]
    if (c === '\n') this.line++
    return c
  }

  /** Blanks and comments; newlines too when `newlines`. */
  private skip(newlines: boolean): void {
    for (;;) {
      const c = this.peek()
      if (c === ' ' || c === '\t' || c === '\r' || (newlines && c === '\n')) this.advance()
      else if (c === '#' || (c === '/' && this.peek(1) === '/'))
        while (this.at < this.text.length && this.peek() !== '\n') this.advance()
      else if (c === '/' && this.peek(1) === '*') {
        this.at += 2
        while (this.at < this.text.length && !(this.peek() === '*' && this.peek(1) === '/'))
          this.advance()
        this.at += 2
      } else return
    }
  }

  private nest<T>(read: () => T): T {
    if (++this.depth > MAX_DEPTH) this.fail(`nested more than ${MAX_DEPTH} deep`)
    try {
      return read()
    } finally {
      this.depth--
    }
  }

  private identifier(): string {
    const start = this.at
    if (!IDENTIFIER_START.test(this.peek())) this.fail(`expected a name, found "${this.peek()}"`)
    while (IDENTIFIER.test(this.peek())) this.at++
    return this.text.slice(start, this.at)
  }

  private body(): Body {
    const body: Body = { attributes: [], blocks: [] }
    for (;;) {
      this.skip(true)
      if (this.at >= this.text.length || this.peek() === '}') return body
      const line = this.line
      const name = this.identifier()
      this.skip(false)
      if (this.peek() === '=' && this.peek(1) !== '=') {
        this.at++
        this.skip(false)
        body.attributes.push({ name, value: this.expression(), line })
        continue
      }
      const labels: string[] = []
      while (this.peek() !== '{') {
        if (this.peek() === '"') {
          const label = this.template()
          labels.push(label.parts.filter(p => typeof p === 'string').join(''))
        } else labels.push(this.identifier())
        this.skip(false)
      }
      this.at++
      const inner = this.nest(() => this.body())
      if (this.peek() !== '}') this.fail(`block ${name} is not closed`)
      this.at++
      body.blocks.push({ type: name, labels, body: inner, line })
    }
  }

  /** An expression, by HCL's precedence: `?:`, `||`, `&&`, `==` `!=`, comparisons, `+` `-`, `*` `/` `%`, unary `!` `-`. */
  private expression(): Expr {
    return this.nest(() => {
      const line = this.line
      const condition = this.binary(0)
      this.skip(false)
      if (this.peek() !== '?') return condition
      this.at++
      this.skip(true)
      const then = this.expression()
      this.skip(true)
      if (this.peek() !== ':') this.fail('expected ":" in a conditional')
      this.at++
      this.skip(true)
      return { type: 'conditional', condition, then, otherwise: this.expression(), line }
    })
  }

  private binary(level: number): Expr {
    if (level === OPERATORS.length) return this.unary()
    const line = this.line
    let left = this.binary(level + 1)
    for (;;) {
      this.skip(false)
      const operator = OPERATORS[level].find(op => this.text.startsWith(op, this.at))
      if (operator === undefined) return left
      // a chain of operators is as deep as it is long once evaluated: bounded like nesting
      if (++this.operations > MAX_OPERATIONS)
        this.fail(`more than ${MAX_OPERATIONS} operators in one file`)
      this.at += operator.length
      this.skip(true)
      const right = this.nest(() => this.binary(level + 1))
      left = { type: 'operation', operator, operands: [left, right], line }
    }
  }

  private unary(): Expr {
    const line = this.line
    const c = this.peek()
    if (c === '!' || c === '-') {
      this.at++
      this.skip(false)
      return { type: 'operation', operator: c, operands: [this.nest(() => this.unary())], line }
    }
    return this.primary()
  }

  /** A call's arguments, after its name: `(a, b, c)`; a trailing `...` is left to Bake. */
  private args(): Expr[] | null {
    this.at++
    const args: Expr[] = []
    for (;;) {
      this.skip(true)
      if (this.peek() === ')') {
        this.at++
        return args
      }
      args.push(this.expression())
      this.skip(true)
      if (this.text.startsWith('...', this.at)) {
        this.at--
        while (this.peek() !== '(') this.at--
        this.skipBalanced('(', ')')
        return null
      }
      if (this.peek() === ',') this.at++
      else if (this.peek() !== ')') this.fail('expected "," or ")"')
    }
  }

  private primary(): Expr {
    const line = this.line
    const c = this.peek()
    if (c === '"') return this.template()
    if (c === '<' && this.peek(1) === '<') return this.heredoc()
    if (c === '[') return this.tuple()
    if (c === '{') return this.object()
    if (c === '(') {
      this.at++
      this.skip(true)
      const inner = this.expression()
      this.skip(true)
      if (this.peek() !== ')') this.fail('expected ")"')
      this.at++
      return inner
    }
    if (/[0-9]/.test(c)) {
      // a digit starts it: the match is at least that digit
      const number =
        /^[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(
          this.text.slice(this.at, this.at + 64)
        )?.[0] ?? c
      this.at += number.length
      return { type: 'literal', value: Number(number), line }
    }
    if (IDENTIFIER_START.test(c)) {
      let name = this.identifier()
      if (name === 'true' || name === 'false')
        return { type: 'literal', value: name === 'true', line }
      if (name === 'null') return { type: 'literal', value: null, line }
      if (name === 'for') return { type: 'unsupported', text: 'for', line }
      if (this.peek() === '(') {
        const args = this.nest(() => this.args())
        return args === null
          ? { type: 'unsupported', text: `${name}(…...)`, line }
          : { type: 'call', name, args, line }
      }
      while (this.peek() === '.' && IDENTIFIER_START.test(this.peek(1))) {
        this.at++
        name += `.${this.identifier()}`
      }
      if (this.peek() === '[') {
        this.skipBalanced('[', ']')
        return { type: 'unsupported', text: `${name}[…]`, line }
      }
      return { type: 'variable', name, line }
    }
    this.fail(c === '' ? 'unexpected end of file' : `unexpected "${c}"`)
  }

  private skipBalanced(open: string, close: string): void {
    let depth = 0
    do {
      const c = this.advance()
      if (c === undefined) this.fail(`"${open}" is not closed`)
      if (c === '"') this.template(true)
      else if (c === open) depth++
      else if (c === close) depth--
    } while (depth > 0)
  }

  /**
   * A quoted template; `afterQuote` when its opening quote was consumed already; `raw`: the
   * whole text is the template's content (a JSON string, already unescaped).
   */
  template(afterQuote = false, raw = false): Extract<Expr, { type: 'template' }> {
    const line = this.line
    if (!afterQuote && !raw) this.at++
    const parts: (string | Expr)[] = []
    let text = ''
    for (;;) {
      const c = this.peek()
      if (raw && c === '') break
      if (c === '' || (c === '\n' && !raw)) this.fail('string is not closed')
      if (c === '"' && !raw) {
        this.at++
        break
      }
      if (c === '\\' && !raw) {
        const next = this.text[this.at + 1]
        text += next === 'n' ? '\n' : next === 't' ? '\t' : next
        this.at += 2
      } else if ((c === '$' || c === '%') && this.peek(1) === '{') {
        if (c === '%') this.fail('template directives (%{…}) are not supported')
        if (text) parts.push(text)
        text = ''
        this.at += 2
        this.skip(true)
        parts.push(this.expression())
        this.skip(true)
        if (this.peek() !== '}') this.fail('expected "}" to close "${"')
        this.at++
      } else if (c === '$' && this.peek(1) === '$' && this.peek(2) === '{') {
        text += '${'
        this.at += 3
      } else {
        text += c
        this.at++
      }
    }
    if (text) parts.push(text)
    return { type: 'template', parts, line }
  }

  private heredoc(): Expr {
    const line = this.line
    this.at += 2
    if (this.peek() === '-') this.at++
    const marker = this.identifier()
    while (this.peek() !== '\n' && this.at < this.text.length) this.advance()
    this.advance()
    const lines: string[] = []
    for (;;) {
      if (this.at >= this.text.length) this.fail(`heredoc ${marker} is not closed`)
      const end = this.text.indexOf('\n', this.at)
      const content = this.text.slice(this.at, end < 0 ? this.text.length : end)
      this.at = end < 0 ? this.text.length : end
      if (content.trim() === marker) break
      lines.push(content)
      if (end >= 0) this.advance()
    }
    // interpolation inside heredocs is not followed: Bake files use them for inline Dockerfiles
    return { type: 'template', parts: [lines.join('\n')], line }
  }

  private tuple(): Expr {
    const line = this.line
    this.at++
    const items: Expr[] = []
    for (;;) {
      this.skip(true)
      if (this.peek() === ']') {
        this.at++
        return { type: 'tuple', items, line }
      }
      if (this.text.startsWith('for ', this.at)) {
        this.at--
        this.skipBalanced('[', ']')
        return { type: 'unsupported', text: '[for …]', line }
      }
      items.push(this.expression())
      this.skip(true)
      if (this.peek() === ',') this.at++
      else if (this.peek() !== ']') this.fail('expected "," or "]"')
    }
  }

  private object(): Expr {
    const line = this.line
    this.at++
    const items: { key: string; value: Expr; line: number }[] = []
    for (;;) {
      this.skip(true)
      if (this.peek() === '}') {
        this.at++
        return { type: 'object', items, line }
      }
      const keyLine = this.line
      const key =
        this.peek() === '"'
          ? this.template()
              .parts.filter(p => typeof p === 'string')
              .join('')
          : this.identifier()
      this.skip(false)
      if (this.peek() !== '=' && this.peek() !== ':') this.fail(`expected "=" after ${key}`)
      this.at++
      this.skip(false)
      items.push({ key, value: this.expression(), line: keyLine })
      this.skip(false)
      if (this.peek() === ',') this.at++
    }
  }
}
