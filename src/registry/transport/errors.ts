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

/** A failure talking to a registry; `kind` survives to the report, which says what to do. */
export class RegistryError extends Error {
  constructor(
    readonly kind: RegistryErrorKind,
    message: string,
    /** The registry it is about, where known. */
    readonly registry?: string
  ) {
    super(message)
    this.name = 'RegistryError'
  }
}
