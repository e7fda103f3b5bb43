/**
 * The store interface every baseline store implements (the Actions cache, a lockfile): restore, save.
 */
import type { Baseline } from './document.js'
import type { Reading } from './merge.js'

/** What restoring a baseline found. */
export type Restored =
  /**
   * `from` says where it was found, in words for the report (a file, the Actions cache);
   * `entry`, the cache entry's key, for a details line.
   */
  | { state: 'found'; baseline: Baseline; from?: string; entry?: string }
  /**
   * Nothing this run can read: none stored yet (or evicted), or, with `unrestorable`, one
   * that exists but this runner cannot unpack, and why.
   */
  | { state: 'none'; unrestorable?: string }
  /** A baseline exists but cannot be used (corrupt, a newer version, unreadable). */
  | { state: 'unusable'; why: string }
  /** The store could not be asked (the cache service failing). */
  | { state: 'unavailable'; why: string }

/**
 * Where baselines live between runs (the Actions cache, a committed lockfile): restore and
 * save, so nothing that uses a store branches on which one it is.
 */
export interface BaselineStore {
  restore(): Promise<Restored>
  /**
   * Records the next baseline; a warning when it could not be recorded. `reading` is what
   * this step read, which a store that finds a baseline saved meanwhile merges into it
   * instead of overwriting it.
   */
  save(baseline: Baseline, reading: Reading): Promise<string | null>
  /**
   * Makes what `save` recorded last at once, for a job about to fail (whose later steps do
   * not run); says what became of it, or null when nothing was recorded.
   */
  persistNow(saved: boolean): Promise<string | null>
}

/** A stored baseline that cannot be used: the run stops rather than forget or overwrite it. */
export class UnusableBaselineError extends Error {
  constructor(why: string) {
    super(
      `the baseline cannot be used: ${why}. It was left as it is; fix it, or accept this run's digests as the new baseline (input accept: true, or --accept --update)`
    )
    this.name = 'UnusableBaselineError'
  }
}
