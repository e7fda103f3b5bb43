/**
 * Which variables may reach a reference: never a secret-looking name or a value carrying a secret.
 */
import { ExpansionError, type Lookup } from './expand.js'

/** Parts of a variable name that say it holds a secret: `DEPLOY_TOKEN`, `dbPassword`, `AWS_SECRET_ACCESS_KEY`. */
const SECRET_PARTS = new Set([
  'token',
  'password',
  'passwd',
  'pass',
  'secret',
  'key',
  'apikey',
  'credential',
  'credentials',
  'creds',
  'auth',
  'private',
  'pat'
])

/** Whether a variable's name says it holds a secret (by whole parts of it, so `KEYCLOAK_VERSION` does not). */
export function looksSecret(name: string): boolean {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .some(part => SECRET_PARTS.has(part))
}

/**
 * Variable lookup for interpolating repository files, which anyone opening a pull request
 * writes: a set value whose name looks secret, or that carries one of the job's secrets, is
 * refused, so it can be neither sent to the registry a file names nor printed.
 */
export function guardedLookup(
  variables: Record<string, string | undefined>,
  secrets: readonly string[]
): Lookup {
  return name => {
    const value = variables[name]
    if (value === undefined) return undefined
    if (looksSecret(name))
      throw new ExpansionError(
        `\${${name}} looks like a secret by its name, so it is never sent to a registry or printed`
      )
    if (secrets.some(secret => secret !== '' && value.includes(secret)))
      throw new ExpansionError(
        `\${${name}} holds a secret of this job, so it is never sent to a registry or printed`
      )
    return value
  }
}
