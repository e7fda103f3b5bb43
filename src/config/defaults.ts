/**
 * Settings shared by the action's inputs and the CLI's flags, with their defaults in one
 * place; action.yml and the README are checked against these by a test.
 */

/** What a kind of problem does to the job: fail it, or only warn. */
export type Reaction = 'fail' | 'warn'

/** When the pull-request comment is posted. */
export type CommentMode = 'on-drift' | 'always' | 'never'
export const COMMENT_MODES: readonly CommentMode[] = ['on-drift', 'always', 'never']
export const REACTIONS: readonly Reaction[] = ['fail', 'warn']

/** Whether a pull request's drifted lines get their pins as suggested changes. */
export type SuggestMode = 'pin' | 'off'
export const SUGGEST_MODES: readonly SuggestMode[] = ['pin', 'off']

/** Whether the files are rewritten to `tag@digest` for a later commit step, and to which digests. */
export type WritePins = 'off' | 'baseline' | 'current'
export const WRITE_PINS_MODES: readonly WritePins[] = ['off', 'baseline', 'current']
/**
 * What images that cannot be checked do: fail, warn, or `auto`: warn while some image was
 * checked, fail when none could be (a gate that cannot see is not "no drift").
 */
export type ErrorReaction = Reaction | 'auto'
export const ERROR_REACTIONS: readonly ErrorReaction[] = ['auto', 'fail', 'warn']

/** Which runs save the cache baseline: the default branch's, every run's, or none. */
export type SaveBaseline = 'default-branch' | 'always' | 'never'
export const SAVE_BASELINE_MODES: readonly SaveBaseline[] = ['default-branch', 'always', 'never']

/** The longest `timeout` allowed: one stuck registry must not hold a job for long. */
export const MAX_TIMEOUT_SECONDS = 300
/** The whole run may take this many request timeouts, retries and Retry-After waits included. */
export const RUN_TIMEOUT_FACTOR = 10

export const DEFAULTS: {
  readonly timeoutSeconds: number
  readonly onDrift: Reaction
  readonly onError: ErrorReaction
  readonly onMissingBaseline: Reaction
  readonly saveBaseline: SaveBaseline
  readonly comment: CommentMode
  readonly suggest: SuggestMode
  readonly writePins: WritePins
  readonly baselineFile: string
  readonly explainBudgetMiB: number
  readonly failOn: string
} = {
  // a registry that never answers costs at most 10 × this: two minutes of a CI job
  timeoutSeconds: 12,
  onDrift: 'fail',
  onError: 'auto',
  onMissingBaseline: 'warn',
  saveBaseline: 'default-branch',
  comment: 'on-drift',
  suggest: 'pin',
  writePins: 'off',
  baselineFile: '.base-image-drift.json',
  /** Enough for the layers of a typical slim image (python:3.12-slim is about 45 MiB). */
  explainBudgetMiB: 100,
  failOn: 'os,removed,major,rebuild'
}
