/** Exit status when something nobody expected stops the run: never 1, which means drift. */
export const CRASH_EXIT = 3

/**
 * Whatever escapes (an `error` event no one listens to, a rejected promise no one awaits)
 * ends the process with a one-line message and status 3, not Node's default 1.
 */
export function exitOnCrash(report: (message: string) => void): void {
  const crash = (error: unknown) => {
    report(`internal error: ${error instanceof Error ? error.message : String(error)}`)
    process.exit(CRASH_EXIT)
  }
  process.on('uncaughtException', crash)
  process.on('unhandledRejection', crash)
}
