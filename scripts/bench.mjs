// `npm run bench [name]`: runs each benchmark under bench/ (or the one named), one after another.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { runTs } from './run-ts.mjs'

const only = process.argv[2]
for (const file of readdirSync('bench')
  .filter(f => f.endsWith('.ts'))
  .sort()) {
  if (!only || file.startsWith(only)) await runTs(join('bench', file))
}
