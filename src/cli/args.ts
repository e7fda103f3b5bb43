/**
 * The command line's flags, parsed and validated; a bad one is a UsageError with the usage.
 */
import { parseMirrors } from '../registry/mirrors.js'
import { parseArgs } from 'node:util'
import {
  DEFAULTS,
  MAX_TIMEOUT_SECONDS,
  REACTIONS,
  RUN_TIMEOUT_FACTOR,
  type Reaction
} from '../config/defaults.js'
import { SOURCES } from '../sources/index.js'
import { hostPlatform } from '../reference/platform.js'
import {
  commaList,
  oneOf,
  parseBuildArgs,
  parseMiB,
  parsePlatforms,
  parseSeverities,
  parseTimeout
} from '../config/values.js'
import { SEVERITIES, type Severity } from '../explain/diff.js'
import { messageOf } from '../errors.js'

export type CommandName = 'scan' | 'resolve' | 'check'

export interface CliCommand {
  command: CommandName
  paths: string[]
  buildArgs: Record<string, string>
  /** `--exclude` globs: not searched in directories (files named are always read). */
  exclude: string[]
  /** `--var` entries, read against the environment when the command runs. */
  variables: string[]
  /** `--helm-image-key`: Helm values keys a chart renders as images. */
  helmImageKeys: string[]
  json: boolean
  platforms: string[]
  baseline: string
  update: boolean
  accept: boolean
  onDrift: Reaction
  onError: Reaction
  failOn: Severity[]
  explainBudgetMiB: number
  /** check: where to write a SARIF log. */
  sarif: string | null
  insecureRegistries: string[]
  /** `--registry-mirror UPSTREAM=URL`: a pull-through mirror per upstream registry. */
  registryMirrors: Record<string, string>
  timeoutSeconds: number
}

export type ParsedArgs =
  { kind: 'help' } | { kind: 'version' } | { kind: 'run'; options: CliCommand }

/** A command line that cannot be run: exit 2 with this one-line reason and the usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

export const USAGE = `Usage:
  base-image-drift scan    [PATH…] [--build-arg K=V]… [--var NAME[=V]]… [--exclude GLOB]… [--json]
  base-image-drift resolve [PATH…] [--build-arg K=V]… [--var NAME[=V]]… [--platforms P,…] [--json]
  base-image-drift check   [PATH…] [--baseline FILE] [--update] [--accept] [--json]

PATH is a file or a directory (default .); directories are searched for
${SOURCES.map(s => `${s.name}s`).join(', ')}.

Options:
  --build-arg K=V            value for a Dockerfile ARG declared before the first FROM (repeatable)
  --var NAME[=VALUE]         a variable for Compose files' \${NAME}: its value, or without one
                             the environment's; --var '*' passes the whole environment (repeatable)
  --helm-image-key KEY       a Helm values key a chart renders as an image, beyond image and
                             *Image (repeatable)
  --exclude GLOB             do not search paths matching GLOB (besides node_modules, vendor
                             and .git); files named as PATH are always read (repeatable)
  --json                     print one JSON object on stdout
  --platforms P,…            platforms to track, e.g. linux/amd64,linux/arm64 (resolve, check)
  --insecure-registries H,…  registry hosts spoken to over plain HTTP (resolve, check)
  --registry-mirror R=URL    ask registry R through its pull-through mirror at URL first,
                             e.g. docker.io=https://mirror.example.com (repeatable)
  --timeout SECONDS          per registry request, at most ${MAX_TIMEOUT_SECONDS}; the run stops
                             asking after ${RUN_TIMEOUT_FACTOR} × this (default ${DEFAULTS.timeoutSeconds})
  --baseline FILE            baseline file for check (default ${DEFAULTS.baselineFile})
  --update                   check: write the new baseline to FILE when nothing fails
  --accept                   check: accept drift (no failure) and record it with --update
  --on-drift fail|warn       check: exit 1 on drift (fail, default) or only report it (warn)
  --on-error warn|fail       check: exit 1 when an image cannot be scanned or resolved (fail)
  --fail-on S,…              check: severities of drift that fail: os, removed, major, rebuild
                             (default ${DEFAULTS.failOn}); the others warn
  --sarif FILE               check: also write the findings as a SARIF 2.1.0 log (code scanning)
  --explain-budget MIB       check: compressed layer MiB read per drifted image to compare its
                             packages (default ${DEFAULTS.explainBudgetMiB}; 0: SBOMs only)
  -h, --help                 show this help
  --version                  print the version

Exit status: 0 nothing to fail on, 1 drift (or errors with --on-error fail), 2 usage error,
3 any other failure (the message says which).`

const COMMANDS: CommandName[] = ['scan', 'resolve', 'check']

/** Every flag `parseArgs` takes. */
const FLAGS = {
  'build-arg': { type: 'string', multiple: true },
  var: { type: 'string', multiple: true },
  'helm-image-key': { type: 'string', multiple: true },
  exclude: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  platforms: { type: 'string' },
  'insecure-registries': { type: 'string' },
  'registry-mirror': { type: 'string', multiple: true },
  timeout: { type: 'string' },
  baseline: { type: 'string' },
  update: { type: 'boolean' },
  accept: { type: 'boolean' },
  'on-drift': { type: 'string' },
  'on-error': { type: 'string' },
  'fail-on': { type: 'string' },
  'explain-budget': { type: 'string' },
  sarif: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' }
} as const

/** The flags that go with some commands only; the others go with all. */
const ONLY_WITH: Partial<Record<keyof typeof FLAGS, CommandName[]>> = {
  platforms: ['resolve', 'check'],
  'insecure-registries': ['resolve', 'check'],
  'registry-mirror': ['resolve', 'check'],
  timeout: ['resolve', 'check'],
  baseline: ['check'],
  update: ['check'],
  accept: ['check'],
  'on-drift': ['check'],
  'on-error': ['check'],
  'fail-on': ['check'],
  'explain-budget': ['check'],
  sarif: ['check']
}

type FlagValues = ReturnType<typeof parseArgs<{ options: typeof FLAGS }>>['values']

export function parseCommandLine(argv: string[]): ParsedArgs {
  let parsed
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: FLAGS })
  } catch (error) {
    throw new UsageError(
      messageOf(error)
        .split('\n')[0]
        .replace(/\. To specify.*$/, '')
    )
  }
  const { values, positionals } = parsed
  if (values.help) return { kind: 'help' }
  if (values.version) return { kind: 'version' }
  const [command, ...paths] = positionals
  if (command === undefined) throw new UsageError('missing command: use scan, resolve or check')
  const name = COMMANDS.find(known => known === command)
  if (name === undefined)
    throw new UsageError(`unknown command "${command}": use scan, resolve or check`)
  for (const [flag, value] of Object.entries(values)) {
    const allowed = new Map(Object.entries(ONLY_WITH)).get(flag)
    if (value !== undefined && allowed && !allowed.includes(name))
      throw new UsageError(
        `--${flag} is not an option of ${command}: it goes with ${allowed.join(' or ')}`
      )
  }
  return { kind: 'run', options: commandOptions(name, paths, values) }
}

/** The flags' values, checked and with their defaults. */
function commandOptions(command: CommandName, paths: string[], values: FlagValues): CliCommand {
  return {
    command,
    paths: paths.length > 0 ? paths : ['.'],
    buildArgs: parseBuildArgs(values['build-arg'] ?? [], '--build-arg'),
    variables: values.var ?? [],
    helmImageKeys: values['helm-image-key'] ?? [],
    exclude: values.exclude ?? [],
    json: values.json ?? false,
    platforms: parsePlatforms(
      values.platforms ?? '',
      '--platforms',
      hostPlatform(undefined, process.arch)
    ),
    baseline: values.baseline ?? DEFAULTS.baselineFile,
    update: values.update ?? false,
    accept: values.accept ?? false,
    onDrift: oneOf(values['on-drift'] ?? DEFAULTS.onDrift, REACTIONS, '--on-drift'),
    onError: oneOf(values['on-error'] ?? DEFAULTS.onError, REACTIONS, '--on-error'),
    sarif: values.sarif ?? null,
    failOn: parseSeverities(values['fail-on'] ?? DEFAULTS.failOn, SEVERITIES, '--fail-on'),
    explainBudgetMiB: parseMiB(
      values['explain-budget'] ?? String(DEFAULTS.explainBudgetMiB),
      '--explain-budget'
    ),
    insecureRegistries: commaList(values['insecure-registries'] ?? ''),
    registryMirrors: mirrorsFlag(values['registry-mirror'] ?? []),
    timeoutSeconds: parseTimeout(values.timeout ?? String(DEFAULTS.timeoutSeconds), '--timeout')
  }
}

function mirrorsFlag(entries: string[]): Record<string, string> {
  const mirrors = parseMirrors(entries)
  if ('error' in mirrors) throw new UsageError(`--registry-mirror: ${mirrors.error}`)
  return mirrors
}
