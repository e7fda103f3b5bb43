/**
 * The command line's entry: `node dist/cli.js scan | resolve | check`.
 */
import { runCli } from './cli/main.js'
import { exitOnCrash } from './crash.js'

exitOnCrash(message => process.stderr.write(`base-image-drift: ${message}\n`))

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: text => process.stdout.write(text),
  stderr: text => process.stderr.write(text),
  cwd: process.cwd(),
  env: process.env
})
