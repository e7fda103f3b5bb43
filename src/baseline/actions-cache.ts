/**
 * The one place that talks to `@actions/cache`. The library never throws for a service
 * failure: it prints `Failed to restore: …` / `Failed to save: …` as a warning or error
 * annotation itself and returns as if there were no entry. That printed line is the only
 * signal of a failure it gives, so each call runs in a worker thread whose output this
 * adapter reads line by line, turning those lines into a result: the step's own output is
 * never touched while the scan runs beside it, and a worker past its deadline is stopped,
 * so no late line of it is printed. A test of this adapter against the cache service
 * emulator fails if the library's wording changes.
 */
import { createInterface } from 'node:readline'
import { Worker } from 'node:worker_threads'
import type { CacheCall, EntryFormat } from './cache-worker.js'
import { inertText } from '../plain-text.js'
import { messageOf } from '../errors.js'

/** The worker's script: beside the bundle that runs this (dist/index.js). */
const CACHE_WORKER = new URL('./cache-worker.js', import.meta.url)

export type CacheRestore =
  { outcome: 'hit'; key: string } | { outcome: 'miss' } | { outcome: 'failed'; why: string }

/**
 * What the runner lets this job do with the cache (`ACTIONS_CACHE_MODE`: none, read, write,
 * write-only; unset is both). The library skips a call it may not make as if there were no
 * entry, so the store asks first and says so instead.
 */
export function cacheAccess(env: Record<string, string | undefined>): {
  read: boolean
  write: boolean
  mode: string
} {
  const mode = (env.ACTIONS_CACHE_MODE ?? '').trim().toLowerCase()
  const known = ['none', 'read', 'write', 'write-only'].includes(mode)
  return {
    read: !known || mode === 'read' || mode === 'write',
    write: !known || mode === 'write' || mode === 'write-only',
    mode
  }
}

/**
 * How long a cache call may take unless the step says (the input timeout). The library
 * retries a failing service for about 25 s per call; past this the call is abandoned (the
 * step ends the process when it is done).
 */
export const CACHE_DEADLINE_MS = 10_000

/**
 * Restores `path` from the newest entry whose key starts with `prefix`, in the first scope
 * that has one (the run's own ref, then the base branch, then the default branch); with
 * `lookupOnly`, only says which entry that is; `format`, how the entry was saved.
 */
export async function restoreEntry(
  path: string,
  prefix: string,
  {
    lookupOnly = false,
    format = 'portable',
    deadlineMs = CACHE_DEADLINE_MS
  }: { lookupOnly?: boolean; format?: EntryFormat; deadlineMs?: number } = {}
): Promise<CacheRestore> {
  const call: CacheCall = { op: 'restore', path, key: prefix, lookupOnly, format }
  const { result, problems } = await inWorker<string | undefined>(CACHE_WORKER, call, deadlineMs)
  if (result instanceof Error) return { outcome: 'failed', why: result.message }
  if (problems.length > 0) return { outcome: 'failed', why: problems[0] }
  return result === undefined ? { outcome: 'miss' } : { outcome: 'hit', key: result }
}

export type CacheSave =
  { outcome: 'saved' } | { outcome: 'taken' } | { outcome: 'failed'; why: string }

/**
 * The library's words for a key it could not reserve: another save holds it (keys are
 * immutable, and one being created is taken). The v2 protocol says so for any failed
 * reservation, so a caller that waits for the holder must bound the wait.
 */
const KEY_TAKEN = /^Unable to reserve cache with key .*, another job may be creating this cache/

/** Saves `path` under `key` as an entry every runner reads; `taken` when another save holds the key. */
export async function saveEntry(
  path: string,
  key: string,
  deadlineMs = CACHE_DEADLINE_MS
): Promise<CacheSave> {
  const call: CacheCall = { op: 'save', path, key, lookupOnly: false, format: 'portable' }
  const { result, problems } = await inWorker<number>(CACHE_WORKER, call, deadlineMs)
  if (result instanceof Error) return { outcome: 'failed', why: result.message }
  if (problems.some(problem => KEY_TAKEN.test(problem))) return { outcome: 'taken' }
  if (problems.length > 0) return { outcome: 'failed', why: problems[0] }
  return result === -1
    ? { outcome: 'failed', why: 'the cache service did not accept it' }
    : { outcome: 'saved' }
}

/** How often the deadline counts the time that passed. */
const TICK_MS = 100

/**
 * `call`, or an error once `deadlineMs` of waiting on it have passed. Only time the process
 * could wait counts: while the scan held the event loop, nothing could be read from the cache
 * service either, so a blocked stretch counts as one tick, not as its length.
 */
export function withDeadline<T>(
  call: Promise<T>,
  deadlineMs = CACHE_DEADLINE_MS,
  clock: () => number = () => performance.now()
): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    let waited = 0
    let last = clock()
    timer = setInterval(() => {
      const now = clock()
      waited += Math.min(now - last, 2 * TICK_MS)
      last = now
      if (waited >= deadlineMs)
        reject(new Error(`the cache service did not answer within ${deadlineMs / 1000} s`))
    }, TICK_MS)
  })
  return Promise.race([call, deadline]).finally(() => clearInterval(timer))
}

const DEBUG_LINE = /^::debug::/
const LIBRARY_PROBLEM =
  /^(?:::(?:error|warning)(?: [^:]*)?::)?(Failed to (?:save|restore): .*|Cache reservation failed: .*|uploadCacheArchiveSDK: .*|Unable to .*)$/

/**
 * Runs a worker script to its answer (the value it posts), or an error once `deadlineMs` of
 * waiting have passed. Its output is read here: the problems the library prints are held
 * back, to give one warning of ours and never an error annotation (the cache must not look
 * like a failed job); its other lines are printed as they come, until the answer or the
 * deadline, after which the worker is stopped.
 */
export async function inWorker<T>(
  script: URL,
  data: unknown,
  deadlineMs = CACHE_DEADLINE_MS
): Promise<{ result: T | Error; problems: string[] }> {
  const problems: string[] = []
  const worker = new Worker(script, { workerData: data, stdout: true })
  let open = true
  const lines = createInterface({ input: worker.stdout, crlfDelay: Infinity })
  lines.on('line', line => {
    if (!open) return
    const match = LIBRARY_PROBLEM.exec(line)
    // the library's own debug lines pass; any other line, which may carry a service's
    // answer (core.info prints it as it is), is text, never a command
    if (!match) process.stdout.write(`${DEBUG_LINE.test(line) ? line : inertText(line)}\n`)
    else
      problems.push(
        match[1]
          .replace(/%0A/g, ' ')
          .replace(/%25/g, '%')
          .replace(/^(?:Failed to (?:save|restore)|Cache reservation failed): /, '')
      )
  })
  // the answer counts once the worker's output has been read to its end, whatever comes first
  const answered = new Promise<T>((resolve, reject) => {
    let answer: { value: T } | null = null
    worker.once('message', (value: T) => (answer = { value }))
    worker.once('error', reject)
    lines.once('close', () =>
      answer ? resolve(answer.value) : reject(new Error('the cache call ended without an answer'))
    )
  })
  try {
    return { result: await withDeadline(answered, deadlineMs), problems }
  } catch (error) {
    // an error thrown in the worker arrives rebuilt: keep its message, whatever its realm
    return { result: new Error(messageOf(error)), problems }
  } finally {
    open = false
    lines.close()
    await worker.terminate()
  }
}
