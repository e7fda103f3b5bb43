/**
 * HCL expressions as Bake evaluates them (buildx bake/hclparser): literals, variables,
 * templates, conditionals, operators and the standard-library functions variable defaults
 * reach for. What only Bake knows when it runs is an `Unknown` that says why. Pure.
 */
import type { Expr } from '../read/hcl.js'

export type Value = string | number | boolean | null | Value[] | { [key: string]: Value }

/** Why a value is known only when Bake runs. */
export class Unknown {
  constructor(
    readonly reason: string,
    readonly line: number
  ) {}
}

/** No arg, context or name needs more: longer values are not expanded further. */
const MAX_VALUE_LENGTH = 64 * 1024

export type Scope = (name: string) => Value | Unknown

/**
 * The functions of Bake's standard library (buildx bake/hclparser/stdlib.go) that variable
 * defaults reach for, with the semantics of their cty implementations; any other is left to
 * Bake (`timestamp()` is known only when it runs).
 */
const FUNCTIONS: Record<string, (args: Value[]) => Value | undefined> = {
  equal: ([a, b]) => sameValue(a, b),
  notequal: ([a, b]) => !sameValue(a, b),
  and: ([a, b]) => (typeof a === 'boolean' && typeof b === 'boolean' ? a && b : undefined),
  or: ([a, b]) => (typeof a === 'boolean' && typeof b === 'boolean' ? a || b : undefined),
  not: ([a]) => (typeof a === 'boolean' ? !a : undefined),
  lower: ([s]) => (typeof s === 'string' ? s.toLowerCase() : undefined),
  upper: ([s]) => (typeof s === 'string' ? s.toUpperCase() : undefined),
  trimspace: ([s]) => (typeof s === 'string' ? s.trim() : undefined),
  trimprefix: ([s, p]) =>
    typeof s === 'string' && typeof p === 'string'
      ? s.startsWith(p)
        ? s.slice(p.length)
        : s
      : undefined,
  trimsuffix: ([s, p]) =>
    typeof s === 'string' && typeof p === 'string'
      ? p && s.endsWith(p)
        ? s.slice(0, -p.length)
        : s
      : undefined,
  // a /regex/ substring is a regular expression in cty's replace: left to Bake
  replace: ([s, from, to]) =>
    typeof s === 'string' &&
    typeof from === 'string' &&
    typeof to === 'string' &&
    !/^\/.*\/$/.test(from)
      ? s.split(from).join(to)
      : undefined,
  join: ([separator, ...lists]) => {
    if (typeof separator !== 'string') return undefined
    const items: Value[] = []
    for (const list of lists) {
      if (!Array.isArray(list)) return undefined
      items.push(...list)
    }
    return items.map(v => String(v)).join(separator)
  },
  split: ([separator, s]) =>
    typeof separator === 'string' && typeof s === 'string' ? s.split(separator) : undefined,
  coalesce: args => args.find(a => a !== null && a !== '') ?? undefined,
  length: ([v]) => (typeof v === 'string' ? [...v].length : Array.isArray(v) ? v.length : undefined)
}

function call(expr: Extract<Expr, { type: 'call' }>, scope: Scope): Value | Unknown {
  const fn = Object.hasOwn(FUNCTIONS, expr.name) ? FUNCTIONS[expr.name] : undefined
  if (!fn) return new Unknown(`the function ${expr.name}() is evaluated by Bake`, expr.line)
  const args: Value[] = []
  for (const arg of expr.args) {
    const value = evaluate(arg, scope)
    if (value instanceof Unknown) return value
    args.push(value)
  }
  const result = fn(args)
  if (result === undefined)
    return new Unknown(`${expr.name}() with these arguments is evaluated by Bake`, expr.line)
  if (typeof result === 'string' && result.length > MAX_VALUE_LENGTH)
    return new Unknown(`a value longer than ${MAX_VALUE_LENGTH / 1024} KiB`, expr.line)
  return result
}

/** HCL's operators: `==` and `!=` on any values, logic on bools, arithmetic and order on numbers. */
function operation(expr: Extract<Expr, { type: 'operation' }>, scope: Scope): Value | Unknown {
  const values: Value[] = []
  for (const operand of expr.operands) {
    const value = evaluate(operand, scope)
    if (value instanceof Unknown) return value
    values.push(value)
  }
  const [a, b] = values
  const refuse = () =>
    new Unknown(`"${expr.operator}" on these values is evaluated by Bake`, expr.line)
  switch (expr.operator) {
    case '==':
      return sameValue(a, b)
    case '!=':
      return !sameValue(a, b)
    case '&&':
    case '||':
      if (typeof a !== 'boolean' || typeof b !== 'boolean') return refuse()
      return expr.operator === '&&' ? a && b : a || b
    case '!':
      return typeof a === 'boolean' ? !a : refuse()
  }
  // cty converts numeric strings to numbers for arithmetic and comparison
  const numbers = values.map(v =>
    typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN
  )
  if (numbers.some(Number.isNaN)) return refuse()
  const [x, y] = numbers
  switch (expr.operator) {
    case '-':
      return values.length === 1 ? -x : x - y
    case '+':
      return x + y
    case '*':
      return x * y
    case '/':
      return y === 0 ? refuse() : x / y
    case '%':
      return y === 0 ? refuse() : x % y
    case '<':
      return x < y
    case '>':
      return x > y
    case '<=':
      return x <= y
    case '>=':
      return x >= y
  }
  return refuse()
}

/** cty's equality: the same type and value, lists and objects element by element. */
function sameValue(a: Value, b: Value): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

export function evaluate(expr: Expr, scope: Scope): Value | Unknown {
  switch (expr.type) {
    case 'literal':
      return expr.value
    case 'variable':
      return expr.name.includes('.')
        ? new Unknown(`${expr.name} is evaluated by Bake`, expr.line)
        : scope(expr.name)
    case 'call':
      return call(expr, scope)
    case 'operation':
      return operation(expr, scope)
    case 'conditional': {
      const condition = evaluate(expr.condition, scope)
      if (condition instanceof Unknown) return condition
      if (typeof condition !== 'boolean')
        return new Unknown('a condition that is not true or false', expr.line)
      return evaluate(condition ? expr.then : expr.otherwise, scope)
    }
    case 'unsupported':
      return new Unknown(`"${expr.text}" is evaluated by Bake`, expr.line)
    case 'template': {
      // HCL's template unwrapping: "${X}" alone is X's value itself, a null included
      if (expr.parts.length === 1 && typeof expr.parts[0] !== 'string')
        return evaluate(expr.parts[0], scope)
      let text = ''
      for (const part of expr.parts) {
        if (typeof part === 'string') {
          text += part
          continue
        }
        const value = evaluate(part, scope)
        if (value instanceof Unknown) return value
        text +=
          typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value ?? '')
        // doubling variables (`v1 = "${v2}${v2}"`) must not grow a string without bound
        if (text.length > MAX_VALUE_LENGTH)
          return new Unknown(`a value longer than ${MAX_VALUE_LENGTH / 1024} KiB`, expr.line)
      }
      return text
    }
    case 'tuple': {
      const items: Value[] = []
      for (const item of expr.items) {
        const value = evaluate(item, scope)
        if (value instanceof Unknown) return value
        items.push(value)
      }
      return items
    }
    case 'object': {
      const object: Record<string, Value> = {}
      for (const item of expr.items) {
        const value = evaluate(item.value, scope)
        if (value instanceof Unknown) return value
        object[item.key] = value
      }
      return object
    }
  }
}
