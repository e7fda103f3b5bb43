/** Reading JSON from outside (a registry, a config file, the GitHub API): checked, never cast. */

/** A JSON object: not null, not a list. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
