/**
 * The action's inputs, each read and validated once; a bad value is a ConfigError naming the input.
 */
import * as core from '@actions/core'
import {
  COMMENT_MODES,
  SUGGEST_MODES,
  WRITE_PINS_MODES,
  DEFAULTS,
  REACTIONS,
  ERROR_REACTIONS,
  type ErrorReaction,
  SAVE_BASELINE_MODES,
  type CommentMode,
  type SuggestMode,
  type WritePins,
  type SaveBaseline,
  type Reaction
} from '../config/defaults.js'
import { DEFAULT_PATTERNS } from '../sources/index.js'
import {
  commaList,
  ConfigError,
  oneOf,
  parseBuildArgs,
  parsePlatforms,
  parseTimeout,
  parseMiB,
  parseSeverities,
  parseVariables
} from '../config/values.js'
import { SEVERITIES, type Severity } from '../explain/diff.js'
import { baselineKeyPrefix, legacyKeyPrefix, workflowFile } from '../baseline/cache-key.js'
import type { Acceptance } from '../compare/accept.js'
import { hostPlatform } from '../reference/platform.js'
import { parseMirrors } from '../registry/mirrors.js'
import { parseReference } from '../reference/reference.js'
import { messageOf } from '../errors.js'

/** Every input of action.yml, validated; a bad value fails with the input's name. */
export interface ActionInputs {
  files: readonly string[]
  /** Globs not searched, besides node_modules, vendor and .git. */
  exclude: string[]
  buildArgs: Record<string, string>
  variables: Record<string, string | undefined>
  /** Helm values keys a chart renders as images, beyond the conventional ones. */
  helmImageKeys: string[]
  platforms: string[]
  registryAuth: Record<string, { username: string; password: string }>
  githubToken: string
  insecureRegistries: string[]
  /** Upstream registry → its pull-through mirror. */
  registryMirrors: Record<string, string>
  timeoutSeconds: number
  /** The key prefix of the repository's baseline, or of the one the input cache-key names. */
  cacheKey: string
  /** The prefix an earlier version saved this step's baseline under, carried over once. */
  legacyCacheKey: string
  /** Which runs save the cache baseline. */
  saveBaseline: SaveBaseline
  /** Branch patterns whose pushes record besides the default branch's. */
  recordingBranches: string[]
  onMissingBaseline: Reaction
  lockfile: string
  updateLockfile: boolean
  onDrift: Reaction
  onError: ErrorReaction
  /** true, false, or the images whose drift is accepted, as written. */
  accept: Acceptance
  comment: CommentMode
  suggest: SuggestMode
  writePins: WritePins
  checkName: string
  /** Where to write a SARIF log; empty: none. */
  sarif: string
  explainBudgetMiB: number
  failOn: Severity[]
}

export function readInputs(env: Record<string, string | undefined> = process.env): ActionInputs {
  const githubToken = core.getInput('github-token')
  if (githubToken) core.setSecret(githubToken)
  const given = core.getMultilineInput('files')
  const files = given.length > 0 ? given : DEFAULT_PATTERNS
  const buildArgs = parseBuildArgs(core.getMultilineInput('build-args'), 'input build-args: entry')
  const variables = parseVariables(
    core.getMultilineInput('variables'),
    env,
    'input variables: entry'
  )
  const platforms = parsePlatforms(
    core.getInput('platforms'),
    'input platforms',
    hostPlatform(env.RUNNER_ARCH, process.arch)
  )
  return {
    files,
    exclude: core.getMultilineInput('exclude'),
    buildArgs,
    variables,
    helmImageKeys: core.getMultilineInput('helm-image-keys').flatMap(commaList),
    platforms,
    registryAuth: parseRegistryAuth(core.getMultilineInput('registry-auth')),
    githubToken,
    insecureRegistries: commaList(core.getInput('insecure-registries')),
    registryMirrors: mirrorsInput(core.getMultilineInput('registry-mirrors').flatMap(commaList)),
    timeoutSeconds: parseTimeout(
      core.getInput('timeout') || String(DEFAULTS.timeoutSeconds),
      'input timeout'
    ),
    cacheKey: baselineKeyPrefix(core.getInput('cache-key')),
    legacyCacheKey: legacyKeyPrefix(core.getInput('cache-key'), {
      workflow: workflowFile(env.GITHUB_WORKFLOW_REF) ?? env.GITHUB_WORKFLOW ?? '',
      job: env.GITHUB_JOB ?? '',
      files,
      buildArgs,
      platforms,
      variableNames: Object.keys(variables)
    }),
    saveBaseline: oneOf(
      core.getInput('save-baseline') || DEFAULTS.saveBaseline,
      SAVE_BASELINE_MODES,
      'input save-baseline'
    ),
    recordingBranches: branchPatterns(core.getMultilineInput('recording-branches')),
    onMissingBaseline: oneOf(
      core.getInput('on-missing-baseline') || DEFAULTS.onMissingBaseline,
      REACTIONS,
      'input on-missing-baseline'
    ),
    lockfile: core.getInput('lockfile'),
    updateLockfile: booleanInput('update-lockfile'),
    onDrift: oneOf(core.getInput('on-drift') || DEFAULTS.onDrift, REACTIONS, 'input on-drift'),
    onError: oneOf(
      core.getInput('on-error') || DEFAULTS.onError,
      ERROR_REACTIONS,
      'input on-error'
    ),
    accept: acceptInput(core.getMultilineInput('accept')),
    comment: oneOf(core.getInput('comment') || DEFAULTS.comment, COMMENT_MODES, 'input comment'),
    suggest: oneOf(core.getInput('suggest') || DEFAULTS.suggest, SUGGEST_MODES, 'input suggest'),
    writePins: oneOf(
      core.getInput('write-pins') || DEFAULTS.writePins,
      WRITE_PINS_MODES,
      'input write-pins'
    ),
    checkName: core.getInput('check-name'),
    sarif: core.getInput('sarif'),
    explainBudgetMiB: parseMiB(
      core.getInput('explain-budget') || String(DEFAULTS.explainBudgetMiB),
      'input explain-budget'
    ),
    failOn: parseSeverities(
      core.getInput('fail-on') || DEFAULTS.failOn,
      SEVERITIES,
      'input fail-on'
    )
  }
}

/**
 * `true`, `false`, or images (one a line, or a comma list) whose drift is accepted: a
 * reviewer accepts what they reviewed and nothing else.
 */
function acceptInput(lines: string[]): Acceptance {
  const entries = lines
    .flatMap(line => line.split(','))
    .map(e => e.trim())
    .filter(Boolean)
  if (entries.length === 0) return false
  if (entries.length === 1 && ['true', 'false'].includes(entries[0].toLowerCase()))
    return entries[0].toLowerCase() === 'true'
  const refuse = (entry: string, why: string) =>
    new ConfigError(
      `input accept must be true, false, or the images to accept with their tags (e.g. python:3.12-slim), not "${entry}": ${why}`
    )
  return entries.map(entry => {
    let image
    try {
      image = parseReference(entry)
    } catch (error) {
      throw refuse(entry, messageOf(error))
    }
    // a bare word ("yes") is far more likely a mistyped true than the image library/yes:latest,
    // and a digest alone names no tag whose drift could be accepted
    const name = entry.split('@')[0]
    if (!name.slice(name.lastIndexOf('/') + 1).includes(':') || image.tag === undefined)
      throw refuse(entry, 'an image to accept is named with its tag')
    // matched to what drifted once it is known: the registry may be left out for a mirror
    return entry
  })
}

/** Branch names or glob patterns (`release/*`), one a line or comma-separated, as `on.push.branches` takes them. */
function branchPatterns(lines: string[]): string[] {
  const patterns = lines.flatMap(commaList)
  for (const pattern of patterns)
    if (pattern.startsWith('refs/') || /\s/.test(pattern))
      throw new ConfigError(
        `input recording-branches: "${pattern}" is not a branch pattern; name branches as on.push.branches does (main, release/*)`
      )
  return patterns
}

function mirrorsInput(entries: string[]): Record<string, string> {
  const mirrors = parseMirrors(entries)
  if ('error' in mirrors) throw new ConfigError(`input registry-mirrors: ${mirrors.error}`)
  return mirrors
}

function booleanInput(name: string): boolean {
  const value = core.getInput(name).toLowerCase()
  if (value === '' || value === 'false') return false
  if (value === 'true') return true
  throw new ConfigError(`input ${name} must be true or false, not "${core.getInput(name)}"`)
}

/** `host=user:password` lines; each password is masked before anything can print it. */
function parseRegistryAuth(lines: string[]): ActionInputs['registryAuth'] {
  const auth: ActionInputs['registryAuth'] = {}
  lines.forEach((line, index) => {
    const eq = line.indexOf('=')
    const colon = line.indexOf(':', eq + 1)
    if (eq <= 0 || colon < 0) {
      throw new ConfigError(`input registry-auth, line ${index + 1}: must be host=user:password`)
    }
    const password = line.slice(colon + 1)
    if (password) core.setSecret(password)
    auth[line.slice(0, eq).trim()] = { username: line.slice(eq + 1, colon), password }
  })
  return auth
}
