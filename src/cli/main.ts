import { findByPaths, MissingPathError, scanFiles } from '../discover/scan-tree.js'
import { formatScanText, referenceJson } from '../report/scan-output.js'
import { ConfigError } from '../config/values.js'
import { VERSION } from '../version.js'
import { parseCommandLine, USAGE, UsageError, type CliCommand } from './args.js'

export interface CliIO {
  stdout: (text: string) => void
  stderr: (text: string) => void
  cwd: string
  env: Record<string, string | undefined>
}

/** Runs the command line and returns its exit status (SPEC §9). */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  try {
    const parsed = parseCommandLine(argv)
    if (parsed.kind === 'help') {
      io.stdout(USAGE + '\n')
      return 0
    }
    if (parsed.kind === 'version') {
      io.stdout(VERSION + '\n')
      return 0
    }
    return await run(parsed.options, io)
  } catch (error) {
    if (
      error instanceof UsageError ||
      error instanceof ConfigError ||
      error instanceof MissingPathError
    ) {
      io.stderr(`base-image-drift: ${error.message}\n\n${USAGE}\n`)
      return 2
    }
    io.stderr(`base-image-drift: ${(error as Error).message ?? String(error)}\n`)
    return 3
  }
}

async function run(options: CliCommand, io: CliIO): Promise<number> {
  if (options.command !== 'scan') {
    throw new UsageError(`${options.command} is not available yet in ${VERSION}`)
  }
  const files = await findByPaths(options.paths, io.cwd)
  const result = await scanFiles(files, { cwd: io.cwd, env: io.env, buildArgs: options.buildArgs })
  for (const warning of result.warnings) {
    io.stderr(
      `warning: ${warning.file}${warning.line ? `:${warning.line}` : ''}: ${warning.message}\n`
    )
  }
  if (options.json)
    io.stdout(JSON.stringify({ references: result.references.map(referenceJson) }, null, 2) + '\n')
  else io.stdout(formatScanText(result))
  return 0
}
