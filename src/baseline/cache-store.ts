import * as cache from '@actions/cache'
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { readBaselineFile, writeBaselineFile, type Restored } from './lockfile-store.js'
import type { Baseline } from './document.js'

/**
 * The baseline in the GitHub Actions cache (SPEC §6): restored by key prefix, which yields
 * the newest baseline saved on this branch, else on the default branch; saved under a new
 * key each time, since cache entries are immutable.
 */
export class CacheStore {
  readonly path: string

  constructor(
    private readonly prefix: string,
    runnerTemp: string
  ) {
    this.path = join(runnerTemp, 'base-image-drift', 'baseline.json')
  }

  /** `<prefix><run_id>-<run_attempt>`: a new key for every save. */
  keyFor(runId: string, runAttempt: string): string {
    return `${this.prefix}${runId}-${runAttempt}`
  }

  async restore(): Promise<Restored & { key?: string }> {
    await mkdir(dirname(this.path), { recursive: true })
    const { result, problems } = await quietly(() =>
      cache.restoreCache([this.path], this.prefix, [this.prefix])
    )
    if (problems.length > 0 || result instanceof Error) {
      const why = result instanceof Error ? result.message : problems[0]
      return {
        baseline: null,
        warning: `baseline cache unavailable (${why}); comparing against nothing, the job result is unaffected`
      }
    }
    if (result === undefined) return { baseline: null }
    return { ...(await readBaselineFile(this.path)), key: result }
  }

  /** Writes the baseline where the post step will find it. */
  async stage(baseline: Baseline): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true })
    await writeBaselineFile(this.path, baseline)
  }

  /** Saves the staged baseline; returns a warning when the cache would not take it. */
  async save(key: string): Promise<string | null> {
    const { result, problems } = await quietly(() => cache.saveCache([this.path], key))
    if (result instanceof Error) return `baseline not saved to the cache (${result.message})`
    if (problems.length > 0 || result === -1) {
      return `baseline not saved to the cache (${problems[0] ?? 'the cache service did not accept it'})`
    }
    return null
  }
}

/**
 * Runs an @actions/cache call, holding back the warnings and errors it prints itself so
 * that one failure gives one warning of ours, and never an error annotation: the cache is
 * optional and must not look like a failure of the job.
 */
async function quietly<T>(
  run: () => Promise<T>
): Promise<{ result: T | Error; problems: string[] }> {
  const problems: string[] = []
  const write = process.stdout.write.bind(process.stdout)
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
    const kept = text
      .split('\n')
      .filter(line => {
        const match =
          /^(?:::(?:error|warning)(?: [^:]*)?::)?(Failed to (?:save|restore): .*|Cache reservation failed: .*|uploadCacheArchiveSDK: .*|Unable to .*)$/.exec(
            line
          )
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
