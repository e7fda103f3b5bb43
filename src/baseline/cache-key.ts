/**
 * Names of the baseline's Actions cache entries. Pure. A run restores the newest entry whose
 * key starts with the prefix, so no prefix may start another: the prefix is a fixed-length
 * digest of the baseline's name — empty for the repository's one baseline, or the input
 * `cache-key` that separates one on purpose. Earlier versions keyed a baseline by the step
 * that read it (its workflow file, job and inputs); those prefixes are still derived, so an
 * upgrade reads the old entry once and carries it into the repository's baseline.
 */
import { createHash } from 'node:crypto'

/** What keyed a baseline before there was one per repository. */
export interface LegacyIdentity {
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
/** 48 bits: the refs of one repository that save a baseline are far fewer than 2^24. */
const REF_DIGEST_CHARS = 12

/** `base-image-drift-v2-<20 hex>-`: the same for every run and step that uses the baseline `name`. */
export function baselineKeyPrefix(name: string): string {
  return `${KEY_NAME}-v2-${hex(JSON.stringify(['repository-baseline', name]))}-`
}

/** The prefix an earlier version saved this step's baseline under: the input cache-key as given, or a digest of the step. */
export function legacyKeyPrefix(cacheKey: string, identity: LegacyIdentity): string {
  if (cacheKey) return cacheKey
  const canonical = JSON.stringify([
    identity.workflow,
    identity.job,
    [...identity.files],
    Object.entries(identity.buildArgs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    [...identity.platforms].sort(),
    [...identity.variableNames].sort()
  ])
  return `${KEY_NAME}-${hex(canonical)}-`
}

function hex(canonical: string): string {
  return createHash('sha256').update(canonical).digest('hex').slice(0, DIGEST_CHARS)
}

/**
 * Where the baselines one ref saves are kept: the prefix, then a fixed-length digest of the
 * ref (the cache scope they are saved in), so that no ref's keys start another's.
 */
export function refChain(prefix: string, ref: string): string {
  return `${prefix}${hex(JSON.stringify(['ref', ref])).slice(0, REF_DIGEST_CHARS)}-`
}

/**
 * The key of a ref's `generation`th baseline: `…-7`. Keys are immutable and one being created
 * is taken, so of two steps saving the same generation one is refused, and merges into the
 * other's before it takes the next.
 */
export function generationKey(chain: string, generation: number): string {
  return `${chain}${generation}`
}

/** The generation a key of `chain` names; 0 for any other key. */
export function generationOf(chain: string, key: string): number {
  const rest = key.startsWith(chain) ? key.slice(chain.length) : ''
  return /^[1-9]\d{0,8}$/.test(rest) ? Number(rest) : 0
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
