import type { Baseline } from './document.js'

/** What restoring a baseline found. */
export type Restored =
  | { state: 'found'; baseline: Baseline }
  /** Nothing stored yet: a first run. */
  | { state: 'none' }
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
  /** Records the next baseline; a warning when it could not be recorded. */
  save(baseline: Baseline): Promise<string | null>
}

/** The baseline to compare with, and why there is none when a stored one could not be used. */
export function usable(restored: Restored): { baseline: Baseline | null; problem?: string } {
  if (restored.state === 'found') return { baseline: restored.baseline }
  if (restored.state === 'none') return { baseline: null }
  return { baseline: null, problem: restored.why }
}
