/** What went wrong talking to a registry, in words a user can act on. */
export type RegistryErrorKind =
  | 'unauthorized'
  | 'not-found'
  | 'rate-limited'
  | 'network'
  | 'timeout'
  | 'server'
  | 'bad-digest'
  | 'too-large'
  | 'bad-response'
  | 'credentials'

export class RegistryError extends Error {
  constructor(
    readonly kind: RegistryErrorKind,
    message: string
  ) {
    super(message)
    this.name = 'RegistryError'
  }
}

/** JSON a registry served (a manifest, a config); a RegistryError when it is not JSON. */
export function parseRegistryJson<T>(bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T
  } catch {
    throw new RegistryError('bad-response', `${what} is not valid JSON`)
  }
}
