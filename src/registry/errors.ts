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
