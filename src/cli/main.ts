/**
 * The command line: maps flags to the pipeline and its result to text, JSON, SARIF and exit statuses.
 */
import { policyOf } from '../decide/policy.js'
import { resolve } from 'node:path'
import { LockfileStore } from '../baseline/lockfile-store.js'
import { ConfigError, parseVariables } from '../config/values.js'
import { run, type Checked, type ResolveRequest, type ScanRequest } from '../pipeline/run.js'
import { baselineDigests, currentDigests, pinReferences } from '../pipeline/pin.js'
import { formatReference } from '../reference/reference.js'
import { counted } from '../words.js'
import { hostPlatform } from '../reference/platform.js'
import { inertText } from '../plain-text.js'
import { annotationsFor } from '../report/annotations.js'
import { checkJson, formatCheckText } from '../report/check-text.js'
import {
  formatResolveText,
  formatScanText,
  referenceJson,
  resolvedJson
} from '../report/scan-output.js'
import { writeSarif } from '../report/sarif.js'
import { progressLines } from '../report/progress.js'
import { resolutionKey } from '../resolve/resolve.js'
import { MissingPathError, type Discovered } from '../sources/discover.js'
import type { FoundReference } from '../sources/read/source.js'
import { VERSION } from '../version.js'
import { helpText, parseCommandLine, UsageError, type CliCommand } from './args.js'
import { coloured } from './colour.js'
import { messageOf } from '../errors.js'

/** `resolve`: some reference could not be determined or resolved (1 is only ever drift). */
const UNRESOLVED_EXIT = 4

export interface CliIO {
  stdout: (text: string) => void
  stderr: (text: string) => void
  cwd: string
  env: Record<string, string | undefined>
  /** How this program was started (`base-image-drift`, `node dist/cli.js`): advice repeats it. */
  program: string
  /** Whether stdout takes colour: a terminal, unless NO_COLOR; FORCE_COLOR anywhere. */
  colour: boolean
  /** Whether stderr is a terminal: progress is shown there, never in a file or pipe. */
  progress: boolean
  /** The terminal's columns when stdout is one: tables keep within them. */
  columns?: number
}

/** Runs the command line and returns its exit status. */
export async function runCli(argv: string[], given: CliIO): Promise<number> {
  // everything written goes through one rule: file names, registry text and errors alike;
  // colour only for a command's report in text, never into --json or the help
  let colour = false
  const io: CliIO = {
    ...given,
    stdout: text => given.stdout(colour ? coloured(inertText(text)) : inertText(text)),
    stderr: text => given.stderr(inertText(text))
  }
  try {
    const parsed = parseCommandLine(argv)
    colour = given.colour && parsed.kind === 'run' && !parsed.options.json
    if (parsed.kind === 'help') {
      io.stdout(helpText(parsed.command) + '\n')
      return 0
    }
    if (parsed.kind === 'version') {
      io.stdout(VERSION + '\n')
      return 0
    }
    return await command(parsed.options, io)
  } catch (error) {
    if (
      error instanceof UsageError ||
      error instanceof ConfigError ||
      error instanceof MissingPathError
    ) {
      const about = error instanceof UsageError ? error.command : null
      // a path that does not exist is no question of options
      const hint =
        error instanceof MissingPathError
          ? ''
          : `The options: ${given.program} help${about ? ` ${about}` : ''}\n`
      io.stderr(`base-image-drift: ${error.message}\n${hint}`)
      return 2
    }
    io.stderr(`base-image-drift: ${messageOf(error)}` + '\n')
    return 3
  }
}

async function command(options: CliCommand, io: CliIO): Promise<number> {
  const scanning = {
    cwd: io.cwd,
    select: { paths: options.paths, exclude: options.exclude },
    buildArgs: options.buildArgs,
    platforms: options.platforms,
    runnerPlatform: hostPlatform(undefined, process.arch),
    variables: parseVariables(options.variables, io.env, '--var'),
    helmImageKeys: options.helmImageKeys,
    progress: io.progress ? progressLines(line => io.stderr(`${line}\n`)) : undefined
  }
  const registry = {
    timeoutMs: options.timeoutSeconds * 1000,
    insecureRegistries: options.insecureRegistries,
    mirrors: options.registryMirrors,
    env: io.env
  }
  if (options.command === 'scan') {
    const { discovered } = await run({ ...scanning, until: 'scan' })
    warn(discovered, io)
    if (options.json) json({ references: discovered.references.map(referenceJson) }, io)
    else io.stdout(formatScanText(discovered.references, io.columns))
    return 0
  }
  if (options.command === 'resolve') {
    const { discovered, resolutions, stats } = await run({
      ...scanning,
      until: 'resolve',
      registry
    })
    warn(discovered, io, stats.mirrorFallbacks)
    const references = discovered.references
    const resolution = (r: FoundReference) =>
      r.image ? resolutions.get(resolutionKey(r.image)) : undefined
    if (options.json) json({ references: references.map(r => resolvedJson(r, resolution(r))) }, io)
    else io.stdout(formatResolveText(references, resolutions, io.columns))
    const unresolved = references.filter(r => {
      const resolved = resolution(r)
      return !resolved || 'failure' in resolved
    })
    return unresolved.length > 0 || discovered.errors.length > 0 ? UNRESOLVED_EXIT : 0
  }
  if (options.command === 'pin') return pin(options, scanning, registry, io)
  const result = await run({
    ...scanning,
    until: 'check',
    registry,
    store: new LockfileStore(io.cwd, options.baseline),
    policy: policyOf(options),
    explainBudgetMiB: options.explainBudgetMiB,
    save: options.update,
    now: new Date().toISOString()
  })
  warn(result.discovered, io, result.stats.mirrorFallbacks)
  writeCheck(result, options, io)
  return result.verdict.failures.length > 0 ? 1 : 0
}

/**
 * `pin`: the references rewritten where they are written (or, with --dry-run, the diff that
 * would do it; with --check, the references not pinned, exit 1 when there are any).
 */
async function pin(
  options: CliCommand,
  scanning: Omit<ScanRequest, 'until'>,
  registry: ResolveRequest['registry'],
  io: CliIO
): Promise<number> {
  const at = (r: FoundReference) => `${r.file}:${r.line}`
  const image = (r: FoundReference) => (r.image ? formatReference(r.image) : '')
  if (options.check) {
    // no registry, no baseline and no rewriting: only what the files write
    const { discovered } = await run({ ...scanning, until: 'scan' })
    warn(discovered, io)
    const images = discovered.references.filter(r => r.image)
    const unpinned = images.filter(r => !r.image?.digest)
    for (const reference of unpinned)
      io.stdout(`${at(reference)}: ${image(reference)} is not pinned to a digest\n`)
    io.stdout(
      unpinned.length === 0
        ? `Every reference is pinned (${counted(images.length, 'reference')}).\n`
        : `${counted(unpinned.length, 'reference')} of ${images.length} not pinned: ${io.program} pin writes the pins.\n`
    )
    return unpinned.length > 0 ? 1 : 0
  }
  const write = !options.dryRun
  const { discovered, digestOf } =
    options.pinTo === 'current'
      ? await run({ ...scanning, until: 'resolve', registry }).then(r => ({
          discovered: r.discovered,
          digestOf: currentDigests(r.resolutions)
        }))
      : await Promise.all([
          run({ ...scanning, until: 'scan' }),
          new LockfileStore(io.cwd, options.baseline).restore()
        ]).then(([scanned, restored]) => {
          if (restored.state !== 'found')
            throw new Error(
              `${restored.state === 'unusable' ? restored.why : `no baseline to pin to in ${options.baseline}`}: \`${io.program} check --update\` records one, or \`pin --to current\` pins each image as it is now`
            )
          return { discovered: scanned.discovered, digestOf: baselineDigests(restored.baseline) }
        })
  const { results, changed: diffs } = pinReferences(io.cwd, discovered.references, digestOf, write)
  warn(discovered, io)
  if (options.dryRun) for (const { diff } of diffs) io.stdout(diff)
  for (const result of results)
    if (result.status === 'unpinnable')
      io.stderr(`not pinned: ${at(result.reference)}: ${image(result.reference)}: ${result.why}\n`)
  const pinned = results.filter(r => r.status === 'pinned').length
  const verb = write ? 'pinned' : 'would pin'
  io.stderr(
    `${verb} ${counted(pinned, 'reference')} in ${counted(diffs.length, 'file')} to ${options.pinTo === 'current' ? 'their current digests' : `the digests of ${options.baseline}`}; ${results.length - pinned} left as they are\n`
  )
  return 0
}

/** What `check` prints (a table or JSON), the SARIF file it writes, and its messages on stderr. */
function writeCheck(result: Checked, options: CliCommand, io: CliIO): void {
  const acceptCommand = acceptInvocation(io.program, options.argv)
  const context = {
    baseline: options.baseline,
    baselineFound: result.baseline !== null,
    updated: result.saved,
    accept: options.accept,
    acceptCommand,
    width: io.columns,
    replaced: result.replaced,
    rateLimitRemaining: result.stats.rateLimitRemaining
  }
  const text = formatCheckText(result.findings, result.explanations, result.verdict, context)
  if (options.json) json(checkJson(result, options.baseline), io)
  else io.stdout(text.report)
  for (const message of text.messages) io.stderr(`${message}\n`)
  if (options.sarif)
    writeSarif(
      resolve(io.cwd, options.sarif),
      annotationsFor(result.findings, result.explanations, result.verdict, acceptCommand)
    )
}

/**
 * The command line that was run, with `--accept --update` among its flags (before a `--`,
 * after which every word is a path): advice that runs as printed.
 */
export function acceptInvocation(program: string, argv: readonly string[]): string {
  const end = argvEnd(argv)
  const flags = argv.slice(0, end).filter(arg => arg !== '--accept' && arg !== '--update')
  return [program, ...[...flags, '--accept', '--update', ...argv.slice(end)].map(shellWord)].join(
    ' '
  )
}

/** Where the flags end: at a `--`, or at the end. */
function argvEnd(argv: readonly string[]): number {
  const end = argv.indexOf('--')
  return end < 0 ? argv.length : end
}

/** A word as a POSIX shell reads it back: as it is when plain, else in single quotes. */
export function shellWord(word: string): string {
  return /^[\w./:=,@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`
}

/** Errors, warnings and notices of the scan, on stderr, one line each. */
function warn(
  discovered: Pick<Discovered, 'errors' | 'warnings' | 'notices'>,
  io: CliIO,
  mirrorFallbacks: readonly string[] = []
): void {
  for (const fallback of mirrorFallbacks) io.stderr(`warning: ${fallback}` + '\n')
  for (const [level, list] of [
    ['error', discovered.errors],
    ['warning', discovered.warnings],
    ['notice', discovered.notices]
  ] as const)
    for (const w of list)
      io.stderr(`${level}: ${w.file}${w.line ? `:${w.line}` : ''}: ${w.message}` + '\n')
}

function json(value: unknown, io: CliIO): void {
  io.stdout(JSON.stringify(value, null, 2) + '\n')
}
