// `npm run bench`: bundles each benchmark under bench/ and runs it, one after another.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'

const only = process.argv[2]
// inside the project, so the bundles resolve packages from its node_modules
const out = join('node_modules', '.cache', 'bid-bench')
mkdirSync(out, { recursive: true })
try {
  for (const file of readdirSync('bench')
    .filter(f => f.endsWith('.ts'))
    .sort()) {
    if (only && !file.startsWith(only)) continue
    const outfile = join(out, file.replace(/\.ts$/, '.mjs'))
    await build({
      entryPoints: [join('bench', file)],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'warning'
    })
    execFileSync(process.execPath, [outfile], { stdio: 'inherit' })
  }
} finally {
  rmSync(out, { recursive: true, force: true })
}
