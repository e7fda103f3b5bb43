import type { ScanContext } from '../../src/sources/read/source.js'

/** What a scan of one file is given, on a linux/amd64 runner: the files beside it by name, and what differs. */
export function scanContext<Passed = never>(
  beside: Record<string, string> = {},
  differs: Partial<ScanContext<Passed>> = {}
): ScanContext<Passed> {
  return {
    buildArgs: {},
    targetPlatforms: ['linux/amd64'],
    buildPlatform: 'linux/amd64',
    variables: {},
    secrets: [],
    passed: null,
    readBeside: name => beside[name] ?? null,
    ...differs
  }
}

/** A digest made of one character: `sha(a)` is sha256:aaa…a. */
export const sha = (c: string) => `sha256:${c.repeat(64)}`
