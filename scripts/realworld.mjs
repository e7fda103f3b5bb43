#!/usr/bin/env node
// The real-layout corpus: each folder of __tests__/fixtures/realworld reproduces the layout of
// a kind of public repository (a Go monorepo with vendored modules, a Compose suite, Bake run
// from a workflow, templates, …). `scan --json` of the bundled CLI runs in each, and what it
// prints — references, errors, warnings, notices — is compared with the case's expectations.
// Nothing is fetched. Exit status 1 when any case differs.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const corpus = join(root, '__tests__/fixtures/realworld')
const cli = join(root, 'dist/cli.js')
if (!existsSync(cli)) {
  console.error('dist/cli.js is missing: run `npm run package` first')
  process.exit(2)
}

let failed = 0
const cases = readdirSync(corpus, { withFileTypes: true }).filter(e => e.isDirectory())
for (const { name } of cases) {
  const dir = join(corpus, name)
  const spec = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8'))
  const ran = spawnSync(process.execPath, [cli, 'scan', '--json', ...spec.args], {
    cwd: join(dir, spec.cwd ?? '.'),
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8'
  })
  const references =
    ran.status === 0
      ? JSON.parse(ran.stdout).references.map(
          r => `${r.file}:${r.line} ${r.kind} ${r.image ?? `error: ${r.error}`}`
        )
      : []
  const stderr = ran.stderr.split('\n').filter(Boolean)
  const problems = [
    ...(ran.status === 0 ? [] : [`exit status ${ran.status}`]),
    ...difference('reference', spec.references, references),
    ...difference('message', spec.stderr, stderr)
  ]
  const count = level => stderr.filter(line => line.startsWith(`${level}: `)).length
  console.log(
    `${problems.length === 0 ? 'ok  ' : 'FAIL'} ${name}: ${references.length} references, ${count('error')} errors, ${count('warning')} warnings, ${count('notice')} notices — ${spec.what}`
  )
  for (const line of references) console.log(`       ${line}`)
  for (const line of stderr) console.log(`       ${line}`)
  for (const problem of problems) console.log(`   !!  ${problem}`)
  if (problems.length > 0) failed++
}
console.log(`${cases.length - failed} cases as expected, ${failed} not`)
process.exit(failed > 0 ? 1 : 0)

function difference(what, expected, actual) {
  return [
    ...expected.filter(e => !actual.includes(e)).map(e => `missing ${what}: ${e}`),
    ...actual.filter(a => !expected.includes(a)).map(a => `unexpected ${what}: ${a}`)
  ]
}
