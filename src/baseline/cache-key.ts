/**
 * Names of the baseline's Actions cache entries. Pure. A run restores the newest entry whose
 * key starts with the prefix, so no prefix may start another: the prefix is a fixed-length
 * digest of what makes a baseline (the workflow file, the job, what the step scans), and
 * jobs `docker` and `docker-edge`, or matrix legs over different directories, never share one.
 */
import { createHash } from 'node:crypto'

export interface BaselineIdentity {
  /** The workflow file (`.github/workflows/ci.yml`), or its name where the file is not known. */
  workflow: string
  job: string
  /** What the step scans: its file patterns, build args, platforms and variable names. */
  files: readonly string[]
  buildArgs: Record<string, string>
  platforms: readonly string[]
  /** Names only: a value may be a secret, and a key is public. */
  variableNames: readonly string[]
}

const KEY_NAME = 'base-image-drift'
/** 80 bits of SHA-256: a collision between two steps of one repository is not a real risk. */
const DIGEST_CHARS = 20

/** `base-image-drift-<20 hex>-`: the same for every run of this step, and only of this step. */
export function baselineKeyPrefix(identity: BaselineIdentity): string {
  const canonical = JSON.stringify([
    identity.workflow,
    identity.job,
    [...identity.files],
    Object.entries(identity.buildArgs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    [...identity.platforms].sort(),
    [...identity.variableNames].sort()
  ])
  const digest = createHash('sha256').update(canonical).digest('hex').slice(0, DIGEST_CHARS)
  return `${KEY_NAME}-${digest}-`
}

/**
 * The key one step of one run saves under: the prefix, then run, attempt and step, so a
 * key that is taken means two steps of one run share a prefix.
 */
export function savedKey(prefix: string, run: string, attempt: string, step: string): string {
  return `${prefix}${keySafe(run)}-${keySafe(attempt)}-${keySafe(step)}`
}

/** A key, or a part of one, as a file name: anything but letters, digits, `.`, `_` and `-` as `_`. */
export function keySafe(value: string): string {
  return value.replace(/[^A-Za-z0-9._-]+/g, '_') || '_'
}

/** The workflow file a run comes from: `owner/repo/.github/workflows/ci.yml@refs/…` → `.github/workflows/ci.yml`. */
export function workflowFile(workflowRef: string | undefined): string | null {
  const path = /^[^/]+\/[^/]+\/([^@]+)@/.exec(workflowRef ?? '')?.[1]
  return path ?? null
}
