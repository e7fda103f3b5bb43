/**
 * The one GitHub REST client every API call goes through: `@actions/github`'s Octokit, loaded
 * only when a run talks to the API, with one deadline per request (input timeout), so a
 * stalled API never holds the job.
 */
import type * as GitHub from '@actions/github'

export type Octokit = ReturnType<typeof GitHub.getOctokit>

/** A request that got no answer within its deadline. */
export class ApiTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`)
    this.name = 'ApiTimeout'
  }
}

export async function githubClient(token: string, timeoutMs: number): Promise<Octokit> {
  const github = await import('@actions/github')
  const octokit = github.getOctokit(token)
  // the request left behind is dropped with the process (the action ends with process.exit)
  octokit.hook.wrap('request', (request, options) => {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ApiTimeout(timeoutMs)), timeoutMs)
    })
    return Promise.race([request(options), deadline]).finally(() => clearTimeout(timer))
  })
  return octokit
}
