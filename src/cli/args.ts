/**
 * The command line's flags, parsed and validated; a bad one is a UsageError with the usage.
 */
import { parseMirrors } from '../registry/mirrors.js'
import { parseArgs } from 'node:util'
import {
  DEFAULTS,
  MAX_TIMEOUT_SECONDS,
  REACTIONS,
  ERROR_REACTIONS,
  RUN_TIMEOUT_FACTOR,
  type ErrorReaction,
  type Reaction
} from '../config/defaults.js'
import { SOURCES } from '../sources/index.js'
import { hostPlatform } from '../reference/platform.js'
import {
  ConfigError,
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
import type { PinTo } from '../pipeline/pin.js'

const PIN_TARGETS = ['baseline', 'current'] as const

export type CommandName = 'scan' | 'resolve' | 'check' | 'pin'

export interface CliCommand {
  command: CommandName
  /** The arguments as given: advice repeats them, so that it runs as printed. */
  argv: string[]
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
  onError: ErrorReaction
  failOn: Severity[]
  explainBudgetMiB: number
  /** check: where to write a SARIF log. */
  sarif: string | null
  insecureRegistries: string[]
  /** `--registry-mirror UPSTREAM=URL`: a pull-through mirror per upstream registry. */
  registryMirrors: Record<string, string>
  timeoutSeconds: number
  /** pin: the digest each reference is pinned to: the baseline's, or where its tag points now. */
  pinTo: PinTo
  /** pin: exit 1 listing the references not pinned, writing nothing. */
  check: boolean
  /** pin: print the unified diff, writing nothing. */
  dryRun: boolean
}

export type ParsedArgs =
  | { kind: 'help'; command: CommandName | null }
  | { kind: 'version' }
  | { kind: 'run'; options: CliCommand }

/** A command line that cannot be run: exit 2 with this one-line reason and the usage. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command it was for, whose usage is shown with it. */
    readonly command: CommandName | null = null
  ) {
    super(message)
    this.name = 'UsageError'
  }
}

const COMMANDS: CommandName[] = ['scan', 'resolve', 'check', 'pin']

/** What each command does, in one line. */
const COMMAND_TEXT: Record<CommandName, string> = {
  scan: 'list every image reference the files name, offline',
  resolve: "ask each reference's registry for its current digest",
  check: 'compare the digests with the baseline file: drift exits 1',
  pin: 'write each reference as tag@digest where it is written'
}

/** The exit statuses, as every help shows them. */
const EXIT_STATUS = `Exit status:
  0  nothing to fail on
  1  drift, or images not checked (--on-error fail: any; auto, the default:
     all); pin --check: a reference not pinned to a digest
  2  a usage error (the message says which flag)
  3  any other failure (the message says which)
  4  resolve: some reference could not be determined or resolved`

/** Every flag: how it is written in the help, what it says, and the commands that take it. */
const OPTIONS: { flag: string; text: string; commands: readonly CommandName[] }[] = [
  {
    flag: '--build-arg K=V',
    text: 'value for a Dockerfile ARG declared before the first FROM (repeatable)',
    commands: COMMANDS
  },
  {
    flag: '--var NAME[=VALUE]',
    text: "a variable for Compose files' ${NAME}: its value, or without one the environment's; --var '*' passes the whole environment (repeatable)",
    commands: COMMANDS
  },
  {
    flag: '--helm-image-key KEY',
    text: 'a Helm values key a chart renders as an image, beyond image and *Image (repeatable)',
    commands: COMMANDS
  },
  {
    flag: '--exclude GLOB',
    text: 'do not search paths matching GLOB (besides node_modules, vendor and .git); files named as PATH are always read (repeatable)',
    commands: COMMANDS
  },
  {
    flag: '--json',
    text: 'print one JSON object on stdout',
    commands: ['scan', 'resolve', 'check']
  },
  {
    flag: '--platforms P,…',
    text: "platforms to track, e.g. linux/amd64,linux/arm64 (default: this machine's)",
    commands: ['resolve', 'check', 'pin']
  },
  {
    flag: '--insecure-registries H,…',
    text: 'registry hosts spoken to over plain HTTP',
    commands: ['resolve', 'check', 'pin']
  },
  {
    flag: '--registry-mirror R=URL',
    text: 'ask registry R through its pull-through mirror at URL first, e.g. docker.io=https://mirror.example.com (repeatable)',
    commands: ['resolve', 'check', 'pin']
  },
  {
    flag: '--timeout SECONDS',
    text: `per registry request, above 0 and at most ${MAX_TIMEOUT_SECONDS}; the run stops asking after ${RUN_TIMEOUT_FACTOR} × this (default ${DEFAULTS.timeoutSeconds})`,
    commands: ['resolve', 'check', 'pin']
  },
  {
    flag: '--baseline FILE',
    text: `the baseline file (default ${DEFAULTS.baselineFile})`,
    commands: ['check', 'pin']
  },
  {
    flag: '--update',
    text: 'write the new baseline to FILE when nothing fails',
    commands: ['check']
  },
  {
    flag: '--accept',
    text: 'accept drift: no failure; with --update, the new digests are written to FILE',
    commands: ['check']
  },
  {
    flag: '--on-drift fail|warn',
    text: `exit 1 on drift (fail), or only report it (warn) (default ${DEFAULTS.onDrift})`,
    commands: ['check']
  },
  {
    flag: '--on-error auto|fail|warn',
    text: `images that cannot be checked: fail on any, warn, or auto: fail only when none could be checked (default ${DEFAULTS.onError})`,
    commands: ['check']
  },
  {
    flag: '--fail-on S,…',
    text: `severities of drift that fail: os, removed, major, rebuild (default ${DEFAULTS.failOn}); the others warn`,
    commands: ['check']
  },
  {
    flag: '--sarif FILE',
    text: 'also write the findings as a SARIF 2.1.0 log (code scanning)',
    commands: ['check']
  },
  {
    flag: '--explain-budget MIB',
    text: `compressed layer MiB read per drifted image to compare its packages, 0 or more (default ${DEFAULTS.explainBudgetMiB}; 0: SBOMs only)`,
    commands: ['check']
  },
  {
    flag: '--to baseline|current',
    text: 'pin: to the digest the baseline file recorded (baseline, the default), or to where each tag points now (current)',
    commands: ['pin']
  },
  {
    flag: '--check',
    text: 'pin: write nothing; list the references not pinned and exit 1 if there are any',
    commands: ['pin']
  },
  {
    flag: '--dry-run',
    text: 'pin: write nothing; print the change as a unified diff',
    commands: ['pin']
  },
  { flag: '-h, --help', text: "show this help (help COMMAND: that command's)", commands: COMMANDS },
  { flag: '-V, --version', text: 'print the version', commands: COMMANDS }
]

const WIDTH = 80
const FLAG_COLUMN = 28

/** Words wrapped to the help's width, under the text column. */
function wrapped(text: string, indent: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line && indent + line.length + 1 + word.length > WIDTH) {
      lines.push(line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  return [...lines, line]
}

function optionLines(commands: readonly CommandName[]): string[] {
  return OPTIONS.filter(o => commands.some(c => o.commands.includes(c))).flatMap(o => {
    const [first, ...rest] = wrapped(o.text, FLAG_COLUMN)
    const head =
      o.flag.length + 2 < FLAG_COLUMN
        ? [`  ${o.flag.padEnd(FLAG_COLUMN - 2)}${first}`]
        : [`  ${o.flag}`, `${' '.repeat(FLAG_COLUMN)}${first}`]
    return [...head, ...rest.map(line => `${' '.repeat(FLAG_COLUMN)}${line}`)]
  })
}

const KINDS = `PATH is a file or a directory (default .); directories are searched for
${wrapped(SOURCES.map(s => s.name.replace(/(ch|s)?$/, end => `${end}${end ? 'es' : 's'}`)).join(', ') + '.', 0).join('\n')}`

/** The help of one command, or of them all. */
export function helpText(command: CommandName | null = null): string {
  if (command)
    return [
      `Usage: base-image-drift ${command} [PATH…] [OPTIONS]`,
      '',
      `${command[0].toUpperCase()}${command.slice(1)}: ${COMMAND_TEXT[command]}.`,
      '',
      KINDS,
      '',
      'Options:',
      ...optionLines([command]),
      '',
      EXIT_STATUS
    ].join('\n')
  return [
    'Usage: base-image-drift COMMAND [PATH…] [OPTIONS]',
    '',
    'Commands:',
    ...COMMANDS.map(c => `  ${c.padEnd(10)}${COMMAND_TEXT[c]}`),
    `  ${'help'.padEnd(10)}help COMMAND shows a command's options`,
    '',
    KINDS,
    '',
    'Options:',
    ...optionLines(COMMANDS),
    '',
    EXIT_STATUS
  ].join('\n')
}

/** The whole help: every command and option (the README's CLI section is checked against it). */
export const USAGE = helpText()

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
  to: { type: 'string' },
  check: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' }
} as const

/** The flags that go with some commands only, from the options table. */
const ONLY_WITH = new Map(
  OPTIONS.filter(o => o.commands.length < COMMANDS.length).map(o => [
    o.flag.split(' ')[0].slice(2),
    o.commands
  ])
)

type FlagValues = ReturnType<typeof parseArgs<{ options: typeof FLAGS }>>['values']

export function parseCommandLine(argv: string[]): ParsedArgs {
  const named = COMMANDS.find(known => known === argv.find(a => !a.startsWith('-')))
  let parsed
  try {
    parsed = parseArgs({
      args: numbersAsValues(argv),
      allowPositionals: true,
      strict: true,
      options: FLAGS
    })
  } catch (error) {
    throw new UsageError(
      messageOf(error)
        .split('\n')[0]
        .replace(/\. To specify.*$/, ''),
      named ?? null
    )
  }
  const { values, positionals } = parsed
  const [command, ...paths] = positionals
  if (command === 'help') {
    const about = paths[0]
    if (about === undefined) return { kind: 'help', command: null }
    const known = COMMANDS.find(c => c === about)
    if (!known)
      throw new UsageError(`no command "${about}": the commands are ${COMMANDS.join(', ')}`)
    return { kind: 'help', command: known }
  }
  const name = COMMANDS.find(known => known === command)
  if (values.help) return { kind: 'help', command: name ?? null }
  if (values.version) return { kind: 'version' }
  if (command === undefined)
    throw new UsageError(`missing command: use ${COMMANDS.join(', ')} or help`)
  if (name === undefined)
    throw new UsageError(`unknown command "${command}": use ${COMMANDS.join(', ')} or help`)
  for (const [flag, value] of Object.entries(values)) {
    const allowed = ONLY_WITH.get(flag)
    if (value !== undefined && allowed && !allowed.includes(name))
      throw new UsageError(
        `--${flag} is not an option of ${command}: it goes with ${allowed.join(' or ')}`,
        name
      )
  }
  try {
    return { kind: 'run', options: commandOptions(name, paths, values, argv) }
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message, name)
    throw error
  }
}

/**
 * `--explain-budget -1` as `--explain-budget=-1`: a number after a flag that takes a value is
 * that value, so its check can say the range (parseArgs takes it for a flag).
 */
function numbersAsValues(argv: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    // after `--`, every word is a path
    if (argv[i] === '--') return [...out, ...argv.slice(i)]
    const flag = argv[i].startsWith('--') ? argv[i].slice(2) : ''
    const takesValue = Object.entries(FLAGS).some(([n, o]) => n === flag && o.type === 'string')
    if (takesValue && /^-\d/.test(argv[i + 1] ?? '')) out.push(`${argv[i]}=${argv[++i]}`)
    else out.push(argv[i])
  }
  return out
}

/** The flags' values, checked and with their defaults. */
function commandOptions(
  command: CommandName,
  paths: string[],
  values: FlagValues,
  argv: string[]
): CliCommand {
  return {
    command,
    argv,
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
    onError: oneOf(values['on-error'] ?? DEFAULTS.onError, ERROR_REACTIONS, '--on-error'),
    sarif: values.sarif ?? null,
    failOn: parseSeverities(values['fail-on'] ?? DEFAULTS.failOn, SEVERITIES, '--fail-on'),
    explainBudgetMiB: parseMiB(
      values['explain-budget'] ?? String(DEFAULTS.explainBudgetMiB),
      '--explain-budget'
    ),
    insecureRegistries: commaList(values['insecure-registries'] ?? ''),
    registryMirrors: mirrorsFlag(values['registry-mirror'] ?? []),
    timeoutSeconds: parseTimeout(values.timeout ?? String(DEFAULTS.timeoutSeconds), '--timeout'),
    pinTo: oneOf(values.to ?? 'baseline', PIN_TARGETS, '--to'),
    check: values.check ?? false,
    dryRun: values['dry-run'] ?? false
  }
}

function mirrorsFlag(entries: string[]): Record<string, string> {
  const mirrors = parseMirrors(entries)
  if ('error' in mirrors) throw new UsageError(`--registry-mirror: ${mirrors.error}`)
  return mirrors
}
