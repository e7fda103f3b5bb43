/**
 * One `@actions/cache` call, run in a worker thread so that what the library prints can be
 * read by the adapter (`actions-cache.ts`) on its own: it posts the call's value and ends.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { parentPort, workerData } from 'node:worker_threads'

/** What the adapter asks of the worker. */
export interface CacheCall {
  op: 'restore' | 'save'
  path: string
  /** The key to save, or the prefix to restore by. */
  key: string
  lookupOnly: boolean
  format: EntryFormat
}

/**
 * How an entry is compressed and flagged, which the cache version hashes: `portable`, gzip
 * (every runner's tar has it) with the cross-OS flag, as entries are saved now; `runner`, the
 * library's own choice (zstd where the runner has it), as earlier versions saved; `zstd`, as
 * if the runner had zstd, only to look up an entry that this runner cannot unpack.
 */
export type EntryFormat = 'portable' | 'runner' | 'zstd'

/**
 * The library compresses with zstd when `zstd --version` prints a version, and the cache
 * version hashes the method, so an entry saved with zstd is invisible to a runner without it.
 * A `zstd` first on this thread's PATH that prints nothing makes it choose gzip; one that
 * prints a version makes it choose zstd. The thread has its own copy of the environment, so
 * the step itself is untouched.
 */
function chooseCompression(version: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'base-image-drift-compression-'))
  writeFileSync(join(dir, 'zstd'), `#!/bin/sh\n${version ? `echo ${version}\n` : ''}exit 0\n`)
  chmodSync(join(dir, 'zstd'), 0o755)
  writeFileSync(join(dir, 'zstd.cmd'), `@${version ? `echo ${version}` : 'exit /b 0'}\r\n`)
  process.env.PATH = `${dir}${delimiter}${process.env.PATH ?? ''}`
  return dir
}

if (parentPort) {
  const call = workerData as CacheCall
  const shim =
    call.format === 'runner' ? null : chooseCompression(call.format === 'zstd' ? 'v1.5.5' : '')
  const crossOs = call.format === 'portable'
  try {
    const cache = await import('@actions/cache')
    parentPort.postMessage(
      call.op === 'restore'
        ? await cache.restoreCache(
            [call.path],
            call.key,
            [call.key],
            { lookupOnly: call.lookupOnly },
            crossOs
          )
        : await cache.saveCache([call.path], call.key, undefined, crossOs)
    )
  } finally {
    if (shim) rmSync(shim, { recursive: true, force: true })
  }
}
