import { readdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { ROOT, runNode } from './helpers/run.js'

/**
 * The real-layout corpus (`npm run realworld`): every image each layout's builds pull, once,
 * on its line, and no error, warning or image that the build would not have.
 */
it('scans every real-layout case as expected', async () => {
  const ran = await runNode(resolve(ROOT, 'scripts/realworld.mjs'), [])
  expect(
    ran.stdout.split('\n').filter(line => line.startsWith('FAIL') || line.includes('!!'))
  ).toEqual([])
  expect(ran.status).toBe(0)
  const cases = readdirSync(resolve(ROOT, '__tests__/fixtures/realworld'), { withFileTypes: true })
  expect(ran.stdout).toMatch(
    new RegExp(`^${cases.filter(c => c.isDirectory()).length} cases as expected, 0 not$`, 'm')
  )
})
