/**
 * One `@actions/cache` call, run in a worker thread so that what the library prints can be
 * read by the adapter (`actions-cache.ts`) on its own: it posts the call's value and ends.
 */
import { parentPort, workerData } from 'node:worker_threads'

/** What the adapter asks of the worker. */
export interface CacheCall {
  op: 'restore' | 'save'
  path: string
  /** The key to save, or the prefix to restore by. */
  key: string
  lookupOnly: boolean
}

if (parentPort) {
  const call = workerData as CacheCall
  const cache = await import('@actions/cache')
  parentPort.postMessage(
    call.op === 'restore'
      ? await cache.restoreCache([call.path], call.key, [call.key], { lookupOnly: call.lookupOnly })
      : await cache.saveCache([call.path], call.key)
  )
}
