/**
 * Reads of GitHub's REST API that only inform a report (the default branch, earlier runs):
 * null for any failure, since a missing permission or an outage must never stop a check.
 */
import { githubClient } from '../report/github-client.js'

/** The JSON of a GET (a path under the API, `/repos/o/r`), or null when it failed, timed out or was refused. */
export async function githubJson(token: string, path: string, timeoutMs: number): Promise<unknown> {
  if (!token) return null
  try {
    const octokit = await githubClient(token, timeoutMs)
    const { data }: { data: unknown } = await octokit.request(`GET ${path}`)
    return data
  } catch {
    return null
  }
}
