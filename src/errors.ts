/** Caught errors: anything may be thrown, so what it carries is read, never assumed. */

/** A field of a caught value, when it is an object that has one. */
function fieldOf(error: unknown, name: string): unknown {
  if (typeof error !== 'object' || error === null) return undefined
  const value: unknown = Reflect.get(error, name)
  return value
}

/** What a caught value says: an Error's message (its class's realm aside), else the value as text. */
export function messageOf(error: unknown): string {
  const message = fieldOf(error, 'message')
  return typeof message === 'string' ? message : String(error)
}

/** A system error's code (`ENOENT`), its own or its cause's; undefined for any other value. */
export function codeOf(error: unknown): string | undefined {
  const code = fieldOf(error, 'code') ?? fieldOf(fieldOf(error, 'cause'), 'code')
  return typeof code === 'string' ? code : undefined
}

/** The HTTP status an API client's error carries; undefined for any other value. */
export function statusOf(error: unknown): number | undefined {
  const status = fieldOf(error, 'status')
  return typeof status === 'number' ? status : undefined
}
