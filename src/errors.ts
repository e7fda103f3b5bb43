/** Caught errors: anything may be thrown, so its message is read, never assumed. */

/** What a caught value says: an Error's message (its class's realm aside), else the value as text. */
export function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message
  return typeof message === 'string' ? message : String(error)
}
