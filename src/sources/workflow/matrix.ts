/**
 * A job's strategy matrix as GitHub forms it, where it is literal: the product of its lists,
 * less `exclude`, with `include` merged in. Pure.
 */
import { isMap, isScalar, isSeq, type Node, type YAMLMap } from 'yaml'

/** GitHub runs at most this many jobs of one matrix. */
export const MAX_MATRIX = 256
/** How many combinations a matrix's lists make, without forming them (a count, capped at 10^12). */
function countCombinations(matrix: YAMLMap): number {
  let count = 1
  for (const pair of matrix.items)
    if (
      isScalar(pair.key) &&
      !['include', 'exclude'].includes(String(pair.key.value)) &&
      isSeq(pair.value)
    )
      count = Math.min(count * pair.value.items.length, 1e12)
  return count
}

/** A matrix value: a scalar's text, or an object of them (`${{ matrix.image.tag }}`). */
export type MatrixValue = string | { [key: string]: MatrixValue }
export type Combination = Record<string, MatrixValue>

/** A YAML node as a literal matrix value; null for anything else (a list in an entry, an alias). */
function matrixValue(node: unknown, depth = 0): MatrixValue | null {
  if (isScalar(node)) return String(node.value)
  if (!isMap(node) || depth > 8) return null
  const value: Record<string, MatrixValue> = {}
  for (const pair of node.items) {
    const inner = isScalar(pair.key) ? matrixValue(pair.value, depth + 1) : null
    if (inner === null || !isScalar(pair.key)) return null
    value[String(pair.key.value)] = inner
  }
  return value
}

/** `image.tag` of a combination, when it names a scalar. */
export function valueAt(combination: Combination, path: string): string | undefined {
  let value: MatrixValue | undefined = combination
  for (const key of path.split('.'))
    value = typeof value === 'object' && Object.hasOwn(value, key) ? value[key] : undefined
  return typeof value === 'string' ? value : undefined
}

/**
 * The combinations of a literal matrix, as GitHub forms them: the product of its lists,
 * less `exclude`, with `include` merged into matching combinations or added. Null when any
 * part is not literal (an expression, `fromJSON`).
 */
export function matrixOf(matrix: Node | undefined): Combination[] | { tooMany: number } | null {
  if (matrix === undefined) return []
  if (!isMap(matrix)) return null
  const plain = (node: unknown): Combination | null => {
    const value = matrixValue(node)
    return typeof value === 'object' && value !== null ? value : null
  }
  let combinations: Combination[] = [{}]
  let include: Combination[] = []
  let exclude: Combination[] = []
  for (const pair of matrix.items) {
    if (!isScalar(pair.key)) return null
    const key = String(pair.key.value)
    const value = pair.value
    if (key === 'include' || key === 'exclude') {
      const entries = isSeq(value) ? literalList(value.items, plain) : null
      if (entries === null) return null
      if (key === 'include') include = entries
      else exclude = entries
      continue
    }
    const values = isSeq(value) ? literalList(value.items, item => matrixValue(item)) : null
    if (values === null) return null
    // counted before the product is formed
    if (combinations.length * values.length > MAX_MATRIX)
      return { tooMany: countCombinations(matrix) }
    combinations = combinations.flatMap(c => values.map(v => ({ ...c, [key]: v })))
  }
  const matches = (c: Combination, pattern: Combination) =>
    Object.entries(pattern).every(([k, v]) => JSON.stringify(c[k]) === JSON.stringify(v))
  combinations = combinations.filter(c => !exclude.some(e => matches(c, e)))
  const base = new Set(combinations.flatMap(c => Object.keys(c)))
  for (const entry of include) {
    const original = Object.fromEntries(Object.entries(entry).filter(([k]) => base.has(k)))
    const targets = combinations.filter(c => Object.keys(c).length > 0 && matches(c, original))
    if (Object.keys(original).length > 0 && targets.length > 0)
      for (const t of targets) Object.assign(t, entry)
    else combinations.push({ ...entry })
  }
  return combinations.filter(c => Object.keys(c).length > 0)
}

/** Each item read by `read`; null when any is not literal. */
function literalList<T>(items: unknown[], read: (item: unknown) => T | null): T[] | null {
  const list: T[] = []
  for (const item of items) {
    const value = read(item)
    if (value === null) return null
    list.push(value)
  }
  return list
}
