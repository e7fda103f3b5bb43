/**
 * The one digest grammar: OCI image-spec's (`algorithm:encoded`, algorithm components of
 * `[a-z0-9]` joined by `+._-`), with the encodings of its registered algorithms: sha256 and
 * blake3 as 64 lowercase hexadecimal characters, sha512 as 128. References, manifests and
 * the baseline document read digests by it alike, so a digest one takes, the others take.
 */
const GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/
const REGISTERED: Readonly<Record<string, number>> = { sha256: 64, sha512: 128, blake3: 64 }

/** Why `digest` is not a digest, or null when it is one. */
export function digestProblem(digest: string): string | null {
  if (!GRAMMAR.test(digest)) return `digest "${digest}" must be algorithm:hex`
  const at = digest.indexOf(':')
  const algorithm = digest.slice(0, at)
  const length = REGISTERED[algorithm]
  if (length === undefined)
    return `digest algorithm "${algorithm}" is not one of ${Object.keys(REGISTERED).join(', ')}`
  if (!new RegExp(`^[a-f0-9]{${length}}$`).test(digest.slice(at + 1)))
    return `a ${algorithm} digest must be ${length} lowercase hexadecimal characters`
  return null
}

export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && digestProblem(value) === null
}
