// Bundles a TypeScript entry (a benchmark or the demo) with esbuild and runs it with node.
import { execFileSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'

// inside the project, so the bundle resolves packages from its node_modules
const out = join('node_modules', '.cache', 'bid-run-ts')
mkdirSync(out, { recursive: true })

export async function runTs(entry, args = []) {
  const outfile = join(out, basename(entry).replace(/\.ts$/, '.mjs'))
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning'
  })
  execFileSync(process.execPath, [outfile, ...args], { stdio: 'inherit' })
}

if (import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    await runTs(process.argv[2], process.argv.slice(3))
  } catch (error) {
    process.exit(error.status ?? 1)
  }
}
