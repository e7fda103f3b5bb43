// Bundles the action (dist/index.js: main and post; dist/cache-worker.js: its cache calls) and
// the command line (dist/cli.js).
import { build } from 'esbuild'

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __bidCreateRequire } from 'node:module';\nconst require = __bidCreateRequire(import.meta.url);"
  }
}

await build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/index.js' })
// each cache call runs in a worker thread, from its own file beside the action's bundle
await build({
  ...common,
  entryPoints: ['src/baseline/cache-worker.ts'],
  outfile: 'dist/cache-worker.js'
})
await build({
  ...common,
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/cli.js',
  banner: { js: '#!/usr/bin/env node\n' + common.banner.js }
})
