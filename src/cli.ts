/**
 * The command line's entry: `node dist/cli.js scan | resolve | check`, or `base-image-drift`
 * where npm linked the bin.
 */
import { basename, relative } from 'node:path'
import { runCli, shellWord } from './cli/main.js'
import { exitOnCrash } from './crash.js'
import { wantsColour } from './cli/colour.js'

exitOnCrash(message => process.stderr.write(`base-image-drift: ${message}\n`))

const script = process.argv[1] ?? ''
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: text => process.stdout.write(text),
  stderr: text => process.stderr.write(text),
  cwd: process.cwd(),
  env: process.env,
  // advice is printed as a command that runs: the bin's name, or node and the script's path
  program:
    basename(script) === 'cli.js'
      ? `node ${shellWord(relative(process.cwd(), script))}`
      : 'base-image-drift',
  colour: wantsColour(process.env, process.stdout.isTTY),
  progress: process.stderr.isTTY === true,
  columns: process.stdout.isTTY ? process.stdout.columns : undefined
})
