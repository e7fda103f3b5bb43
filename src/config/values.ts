/**
 * Validation of the values users give, shared by the action's inputs and the CLI's flags;
 * `what` names the input or flag in every error.
 */

import { parsePlatform, PlatformError } from '../reference/platform.js'
import { MAX_TIMEOUT_SECONDS } from './defaults.js'

/** A value a user gave that is not allowed; the message names it and what is allowed. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** `NAME=VALUE` entries; `what` names the flag or input in errors. */
export function parseBuildArgs(entries: string[], what: string): Record<string, string> {
  const args: Record<string, string> = {}
  for (const entry of entries) {
    const eq = entry.indexOf('=')
    const name = eq < 0 ? entry : entry.slice(0, eq)
    if (eq < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new ConfigError(
        `${what} "${entry}" must be NAME=VALUE with NAME made of letters, digits and _`
      )
    }
    args[name] = entry.slice(eq + 1)
  }
  return args
}

/**
 * Variables for Compose interpolation: `NAME` takes NAME from the environment, `NAME=VALUE`
 * sets it, `*` takes the whole environment.
 */
export function parseVariables(
  entries: string[],
  env: Record<string, string | undefined>,
  what: string
): Record<string, string | undefined> {
  const variables: Record<string, string | undefined> = {}
  for (const entry of entries) {
    if (entry.trim() === '*') {
      Object.assign(variables, env)
      continue
    }
    const eq = entry.indexOf('=')
    const name = (eq < 0 ? entry : entry.slice(0, eq)).trim()
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new ConfigError(
        `${what} "${entry}" must be NAME (taken from the environment), NAME=VALUE, or * (the whole environment)`
      )
    variables[name] = eq < 0 ? env[name] : entry.slice(eq + 1)
  }
  return variables
}

/**
 * `linux/amd64,arm64,linux/arm` → normalized platforms, read as containerd reads them; an OS
 * alone takes the architecture of `host`, the machine that builds.
 */
export function parsePlatforms(text: string, what: string, host?: string): string[] {
  return commaList(text).map(platform => {
    try {
      return parsePlatform(platform, host)
    } catch (error) {
      if (error instanceof PlatformError) throw new ConfigError(`${what}: ${error.message}`)
      throw error
    }
  })
}

export function oneOf<T extends string>(value: string, allowed: readonly T[], what: string): T {
  // case does not matter: `--fail-on OS` is `os`
  const chosen = allowed.find(option => option === value.trim().toLowerCase())
  if (chosen === undefined)
    throw new ConfigError(`${what} must be ${choices(allowed)}, not "${value}"`)
  return chosen
}

export function parseTimeout(text: string, what: string): number {
  const seconds = Number(text)
  if (
    !Number.isFinite(seconds) ||
    seconds <= 0 ||
    seconds > MAX_TIMEOUT_SECONDS ||
    text.trim() === ''
  ) {
    throw new ConfigError(
      `${what} must be a number of seconds above 0 and at most ${MAX_TIMEOUT_SECONDS}, not "${text}"`
    )
  }
  return seconds
}

/** A whole number of MiB, 0 or more. */
export function parseMiB(text: string, what: string): number {
  const mib = Number(text)
  if (text.trim() === '' || !Number.isInteger(mib) || mib < 0)
    throw new ConfigError(`${what} must be a whole number of MiB from 0 up, not "${text}"`)
  return mib
}

/** `os,removed` → severities, each one of `allowed`. */
export function parseSeverities<T extends string>(
  text: string,
  allowed: readonly T[],
  what: string
): T[] {
  const list = commaList(text)
  if (list.length === 0)
    throw new ConfigError(`${what} must name at least one of ${allowed.join(', ')}`)
  return list.map(item => oneOf(item, allowed, `${what}: each entry`))
}

export function commaList(text: string): string[] {
  return text
    .split(',')
    .map(s => s.trim())
    .filter(s => s !== '')
}

/** `a`, `a or b`, `a, b or c`. */
function choices(allowed: readonly string[]): string {
  return allowed.length < 2
    ? allowed.join('')
    : `${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}`
}
