/**
 * Reads of GitHub's REST API that only inform a report (the default branch, earlier runs):
 * null for any failure, since a missing permission or an outage must never stop a check.
 */

/** The JSON of a GET, or null when the request failed, timed out or was refused. */
export async function githubJson(
  env: Record<string, string | undefined>,
  token: string,
  path: string,
  timeoutMs: number
): Promise<unknown> {
  if (!token) return null
  const api = env.GITHUB_API_URL || 'https://api.github.com'
  try {
    const response = await fetch(`${api}${path}`, {
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/vnd.github+json' },
      signal: AbortSignal.timeout(timeoutMs)
    })
    if (!response.ok) return null
    return (await response.json()) as unknown
  } catch {
    return null
  }
}
