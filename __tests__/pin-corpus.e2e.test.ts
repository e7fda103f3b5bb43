import { createHash } from 'node:crypto'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { CLI, ROOT, runNode } from './helpers/run.js'

const FIXTURES = resolve(ROOT, '__tests__/fixtures')

/** Each real layout, with the flags its builds are scanned with. */
const LAYOUTS: [name: string, dir: string, args: string[], cwd: string][] = [
  ['corpus', join(FIXTURES, 'corpus'), ['--var', 'MAILPIT_TAG', '.'], '.'],
  ...readdirSync(join(FIXTURES, 'realworld'), { withFileTypes: true })
    .filter(entry => entry.isDirectory())
    .map(({ name }): [string, string, string[], string] => {
      const dir = join(FIXTURES, 'realworld', name)
      const spec = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as {
        args: string[]
        cwd?: string
      }
      return [name, dir, spec.args, spec.cwd ?? '.']
    })
]

interface Scanned {
  file: string
  kind: string
  image?: string | null
}

const env = { PATH: process.env.PATH, MAILPIT_TAG: 'v1.21' }

async function scan(
  cwd: string,
  args: string[]
): Promise<{ references: Scanned[]; stderr: string }> {
  const ran = await runNode(CLI, ['scan', '--json', ...args], { cwd, env })
  expect(ran.status).toBe(0)
  return { references: JSON.parse(ran.stdout).references as Scanned[], stderr: ran.stderr }
}

const digestOf = (image: string) => `sha256:${createHash('sha256').update(image).digest('hex')}`
const shown = (r: Scanned) => `${r.file} ${r.kind} ${r.image}`

describe('pin over the real-layout corpus', () => {
  it.each(LAYOUTS)(
    '%s: every file rewritten reads back with the same references, pinned; a second pin changes nothing',
    async (_, dir, args, at) => {
      const copy = mkdtempSync(join(tmpdir(), 'bid-pin-corpus-'))
      const root = join(copy, at)
      try {
        cpSync(dir, copy, { recursive: true })
        const before = await scan(root, args)
        const images = before.references.flatMap(r =>
          r.image && !r.image.includes('@') ? [r.image] : []
        )
        writeFileSync(
          join(root, '.base-image-drift.json'),
          JSON.stringify({
            schema: 'https://github.com/base-image-drift/base-image-drift/baseline',
            version: 1,
            images: Object.fromEntries(images.map(image => [image, { digest: digestOf(image) }]))
          })
        )
        const pinned = await runNode(CLI, ['pin', ...args], { cwd: root, env })
        expect(pinned.status).toBe(0)
        // what cannot be pinned where it is written is said, with why, and left as it is
        const left = new Set(
          pinned.stderr.split('\n').flatMap(line => {
            const said = /^not pinned: (.+?):\d+: (\S+): .+$/.exec(line)
            return said ? [`${said[1]} ${said[2]}`] : []
          })
        )
        const after = await scan(root, args)
        // the same problems as before: no file made unreadable
        expect(after.stderr).toBe(before.stderr)
        const pinnable = (r: Scanned) =>
          typeof r.image === 'string' && !r.image.includes('@') && !left.has(`${r.file} ${r.image}`)
        const expected = before.references.map(r =>
          pinnable(r) ? shown({ ...r, image: `${r.image}@${digestOf(r.image!)}` }) : shown(r)
        )
        expect(after.references.map(shown).sort()).toEqual(expected.sort())
        const count = before.references.filter(pinnable).length
        expect(pinned.stderr).toMatch(new RegExp(`^pinned ${count} reference`, 'm'))

        const texts = () =>
          readdirSync(copy, { recursive: true, withFileTypes: true })
            .filter(e => e.isFile())
            .map(e => readFileSync(join(e.parentPath, e.name), 'utf8'))
        const written = texts()
        const again = await runNode(CLI, ['pin', ...args], { cwd: root, env })
        expect(again.stderr).toMatch(/^pinned 0 references in 0 files/m)
        expect(texts()).toEqual(written)
      } finally {
        rmSync(copy, { recursive: true, force: true })
      }
    }
  )
})
