/**
 * Which containers of a manifest a Kustomize patch changes, as kustomize selects them (the
 * manifest reader asks; the kustomization says what its patches select): the
 * resources by kind and name (its selector patterns, or the patch's own identity), the
 * container by name (strategic merge) or by place (JSON 6902).
 */

/** A container a patch changes: in the resources it selects, by name or by position. */
export interface PatchedContainer {
  /** The kinds and names it applies to, as kustomize's selector patterns (anchored); null: any. */
  kind: string | null
  name: string | null
  /** The container's name (strategic merge), or `containers/0` (JSON 6902); `containers/*`: every one of that list. */
  container: string
}

/** A container of a manifest, as a patch may select it. */
export interface ContainerAt {
  kind: string
  name: string
  /** Its `name:`; null when it has none. */
  container: string | null
  list: string
  index: number
}

/** Whether a patch changes this container: its kind, name and container (by name or place) selected. */
export function isPatched(patched: readonly PatchedContainer[], at: ContainerAt): boolean {
  return patched.some(
    p =>
      selects(p.kind, at.kind) &&
      selects(p.name, at.name) &&
      (p.container === at.container ||
        p.container === `${at.list}/${at.index}` ||
        p.container === `${at.list}/*`)
  )
}

/**
 * Kustomize's selector patterns are regular expressions, anchored. Read here: literal
 * characters, `.` (any one) and `.*` (any run), alternatives with `|`, matched in
 * O(n·m) time; a pattern with other operators selects every name, so no base image a patch may
 * hide is reported as pulled.
 */
function selects(pattern: string | null, value: string): boolean {
  if (pattern === null || pattern === '') return true
  if (/(?<!\\)(?:[()[\]{}+?^$]|(?<!\.)\*)/.test(pattern)) return true
  return pattern.split(/(?<!\\)\|/).some(alternative => wildcardMatch(alternative, value))
}

/** `.` any one character, `.*` any run, `\x` the character x: greedy with one backtrack point, O(n·m). */
function wildcardMatch(pattern: string, value: string): boolean {
  // each token: a character, `null` for any one, `'*'` for any run
  const tokens: (string | null)[] = []
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '\\' && i + 1 < pattern.length) tokens.push(pattern[++i])
    else if (pattern[i] === '.' && pattern[i + 1] === '*') {
      tokens.push('*')
      i++
    } else tokens.push(pattern[i] === '.' ? null : pattern[i])
  }
  let t = 0
  let v = 0
  let run = -1
  let runEnd = 0
  while (v < value.length) {
    if (tokens[t] === '*' && t < tokens.length) {
      run = t++
      runEnd = v
    } else if (t < tokens.length && (tokens[t] === null || tokens[t] === value[v])) {
      t++
      v++
    } else if (run >= 0) {
      // the run takes one more character, and the rest is tried again after it
      t = run + 1
      v = ++runEnd
    } else return false
  }
  while (tokens[t] === '*') t++
  return t === tokens.length
}
