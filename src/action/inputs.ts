import * as core from '@actions/core'
import {
  COMMENT_MODES,
  DEFAULTS,
  REACTIONS,
  type CommentMode,
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

/** Every input of action.yml, validated; a bad value fails with the input's name. */
export interface ActionInputs {
  files: readonly string[]
  buildArgs: Record<string, string>
  variables: Record<string, string | undefined>
  platforms: string[]
  registryAuth: Record<string, { username: string; password: string }>
  githubToken: string
  insecureRegistries: string[]
  timeoutSeconds: number
  cacheKey: string
  lockfile: string
  updateLockfile: boolean
  onDrift: Reaction
  onError: Reaction
  accept: boolean
  comment: CommentMode
  checkName: string
  /** Where to write a SARIF log; empty: none. */
  sarif: string
  explainBudgetMiB: number
  failOn: Severity[]
}

export function readInputs(env: Record<string, string | undefined> = process.env): ActionInputs {
  const githubToken = core.getInput('github-token')
  if (githubToken) core.setSecret(githubToken)
  const files = core.getMultilineInput('files')
  return {
    files: files.length > 0 ? files : DEFAULT_PATTERNS,
    buildArgs: parseBuildArgs(core.getMultilineInput('build-args'), 'input build-args: entry'),
    variables: parseVariables(core.getMultilineInput('variables'), env, 'input variables: entry'),
    platforms: parsePlatforms(core.getInput('platforms'), 'input platforms'),
    registryAuth: parseRegistryAuth(core.getMultilineInput('registry-auth')),
    githubToken,
    insecureRegistries: commaList(core.getInput('insecure-registries')),
    timeoutSeconds: parseTimeout(
      core.getInput('timeout') || String(DEFAULTS.timeoutSeconds),
      'input timeout'
    ),
    cacheKey: core.getInput('cache-key') || defaultCacheKey(env),
    lockfile: core.getInput('lockfile'),
    updateLockfile: booleanInput('update-lockfile'),
    onDrift: oneOf(core.getInput('on-drift') || DEFAULTS.onDrift, REACTIONS, 'input on-drift'),
    onError: oneOf(core.getInput('on-error') || DEFAULTS.onError, REACTIONS, 'input on-error'),
    accept: booleanInput('accept'),
    comment: oneOf(core.getInput('comment') || DEFAULTS.comment, COMMENT_MODES, 'input comment'),
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

/** `base-image-drift-<workflow>-<job>-`: one baseline per job, never shared between jobs. */
function defaultCacheKey(env: Record<string, string | undefined>): string {
  const part = (value: string | undefined) => (value ?? '').replace(/[^A-Za-z0-9._-]+/g, '_') || '_'
  return `base-image-drift-${part(env.GITHUB_WORKFLOW)}-${part(env.GITHUB_JOB)}-`
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
