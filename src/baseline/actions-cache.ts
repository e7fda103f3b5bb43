/**
 * The one place that talks to `@actions/cache`. The library never throws for a service
 * failure: it prints `Failed to restore: …` / `Failed to save: …` as a warning or error
 * annotation itself and returns as if there were no entry. That printed line is the only
 * signal of a failure it gives, so this adapter holds back the library's own lines and
 * turns them into a result; a test of this adapter against the cache service emulator
 * fails if the library's wording changes.
 */
import * as cache from '@actions/cache'

export type CacheRestore =
  { outcome: 'hit'; key: string } | { outcome: 'miss' } | { outcome: 'failed'; why: string }

/** Restores `path` from the newest entry whose key starts with `prefix`. */
export async function restoreEntry(path: string, prefix: string): Promise<CacheRestore> {
  const { result, problems } = await heldBack(() => cache.restoreCache([path], prefix, [prefix]))
  if (result instanceof Error) return { outcome: 'failed', why: result.message }
  if (problems.length > 0) return { outcome: 'failed', why: problems[0] }
  return result === undefined ? { outcome: 'miss' } : { outcome: 'hit', key: result }
}

/** Saves `path` under `key`; null when saved, else why not. */
export async function saveEntry(path: string, key: string): Promise<string | null> {
  const { result, problems } = await heldBack(() => cache.saveCache([path], key))
  if (result instanceof Error) return result.message
  if (problems.length > 0) return problems[0]
  return result === -1 ? 'the cache service did not accept it' : null
}

const LIBRARY_PROBLEM =
  /^(?:::(?:error|warning)(?: [^:]*)?::)?(Failed to (?:save|restore): .*|Cache reservation failed: .*|uploadCacheArchiveSDK: .*|Unable to .*)$/

/**
 * Runs a library call, holding back the problems it prints so that one failure gives one
 * warning of ours, never an error annotation: the cache must not look like a failed job.
 */
async function heldBack<T>(
  run: () => Promise<T>
): Promise<{ result: T | Error; problems: string[] }> {
  const problems: string[] = []
  const write = process.stdout.write.bind(process.stdout)
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
    const kept = text
      .split('\n')
      .filter(line => {
        const match = LIBRARY_PROBLEM.exec(line)
        if (match) {
          const message = match[1].replace(/%0A/g, ' ').replace(/%25/g, '%')
          problems.push(
            message.replace(/^(?:Failed to (?:save|restore)|Cache reservation failed): /, '')
          )
        }
        return !match
      })
      .join('\n')
    return kept === '' ? true : write(kept, ...(rest as []))
  }) as typeof process.stdout.write
  try {
    return { result: await run(), problems }
  } catch (error) {
    return { result: error as Error, problems }
  } finally {
    process.stdout.write = write
  }
}
