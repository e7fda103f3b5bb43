import { resolve } from 'node:path'
import { readBaselineFile, writeBaselineFile } from '../baseline/lockfile-store.js'
import { findByPaths, MissingPathError, scanFiles } from '../discover/scan-tree.js'
import { check } from '../pipeline/check.js'
import { formatCheckText } from '../report/check-text.js'
import { findingJson } from '../report/findings.js'
import type { FoundReference } from '../scan/types.js'
import { RegistryClient } from '../registry/remote.js'
import {
  formatResolveText,
  formatScanText,
  referenceJson,
  resolvedJson
} from '../report/scan-output.js'
import { resolveAll, resolutionKey } from '../resolve/resolve.js'
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
  const files = await findByPaths(options.paths, io.cwd)
  const scan = await scanFiles(files, { cwd: io.cwd, env: io.env, buildArgs: options.buildArgs })
  for (const warning of scan.warnings) {
    io.stderr(
      `warning: ${warning.file}${warning.line ? `:${warning.line}` : ''}: ${warning.message}\n`
    )
  }
  if (options.command === 'scan') {
    if (options.json)
      io.stdout(JSON.stringify({ references: scan.references.map(referenceJson) }, null, 2) + '\n')
    else io.stdout(formatScanText(scan))
    return 0
  }
  const client = new RegistryClient({
    timeoutMs: options.timeoutSeconds * 1000,
    insecureRegistries: options.insecureRegistries,
    env: io.env
  })
  try {
    if (options.command === 'resolve') {
      const resolutions = await resolveAll(scan.references, client, options.platforms)
      if (options.json) {
        const references = scan.references.map(r =>
          resolvedJson(r, r.image ? resolutions.get(resolutionKey(r.image)) : undefined)
        )
        io.stdout(JSON.stringify({ references }, null, 2) + '\n')
      } else {
        io.stdout(formatResolveText(scan.references, resolutions))
      }
      return 0
    }
    return await runCheck(options, scan.references, client, io)
  } finally {
    await client.close()
  }
}

async function runCheck(
  options: CliCommand,
  references: FoundReference[],
  client: RegistryClient,
  io: CliIO
): Promise<number> {
  const path = resolve(io.cwd, options.baseline)
  const restored = await readBaselineFile(path)
  if (restored.warning) io.stderr(`warning: ${restored.warning}\n`)
  const result = await check({
    references,
    baseline: restored.baseline,
    client,
    platforms: options.platforms,
    policy: { onDrift: options.onDrift, onError: options.onError, accept: options.accept },
    now: new Date().toISOString()
  })
  const updated = options.update && result.verdict.save
  if (updated) await writeBaselineFile(path, result.next)
  if (options.json) {
    io.stdout(
      JSON.stringify(
        {
          baseline: options.baseline,
          baselineFound: restored.baseline !== null,
          updated,
          drifted: result.verdict.drifted > 0,
          failures: result.verdict.failures,
          findings: result.findings.map(findingJson),
          rateLimitRemaining: client.stats.rateLimitRemaining
        },
        null,
        2
      ) + '\n'
    )
  } else {
    io.stdout(
      formatCheckText(result.findings, result.verdict, {
        baseline: options.baseline,
        baselineFound: restored.baseline !== null,
        updated,
        rateLimitRemaining: client.stats.rateLimitRemaining
      })
    )
  }
  return result.verdict.failures.length > 0 ? 1 : 0
}
