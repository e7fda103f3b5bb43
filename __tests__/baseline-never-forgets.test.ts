import fc from 'fast-check'
import type { Baseline } from '../src/baseline/document.js'
import { compare } from '../src/compare/compare.js'
import type { Resolution } from '../src/resolve/resolve.js'
import type { FoundReference } from '../src/sources/read/source.js'
import { found } from './helpers/references.js'

// A repository of a few files naming a few images, run many times. Between runs the files are
// edited (an image added to or removed from a file), upstream rebuilds tags, and any run may
// fail to read a file or one of its lines, or fail to resolve an image. Whatever happens, an
// image that is still named in the files and was once recorded stays recorded, and its digest
// changes only when drift is accepted.

const FILES = ['Dockerfile', 'api/Dockerfile', 'compose.yaml']
const IMAGES = ['python:3.12-slim', 'node:22', 'alpine:3.20', 'redis:7', 'nginx:1.27']
const key = (image: string) =>
  image.includes('/') ? `docker.io/${image}` : `docker.io/library/${image}`
const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`

type Step =
  | { kind: 'add'; file: number; image: number }
  | { kind: 'remove'; file: number; image: number }
  | { kind: 'rebuild'; image: number }
  | {
      kind: 'run'
      accept: boolean
      unreadableFiles: number[]
      failedLines: number[]
      registryErrors: number[]
    }

const index = (max: number) => fc.integer({ min: 0, max: max - 1 })
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('add' as const),
    file: index(FILES.length),
    image: index(IMAGES.length)
  }),
  fc.record({
    kind: fc.constant('remove' as const),
    file: index(FILES.length),
    image: index(IMAGES.length)
  }),
  fc.record({ kind: fc.constant('rebuild' as const), image: index(IMAGES.length) }),
  fc.record({
    kind: fc.constant('run' as const),
    accept: fc.boolean(),
    unreadableFiles: fc.uniqueArray(index(FILES.length), { maxLength: 2 }),
    failedLines: fc.uniqueArray(index(IMAGES.length), { maxLength: 2 }),
    registryErrors: fc.uniqueArray(index(IMAGES.length), { maxLength: 3 })
  })
)

describe('the baseline never forgets', () => {
  it('keeps every recorded image still named in the files, through scan failures, registry errors and accepted drift', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), steps => {
        // what the files say: file → images, in line order
        const files: string[][] = FILES.map(() => [])
        const upstream = IMAGES.map((_, i) => digest(i * 1000))
        let baseline: Baseline | null = null
        for (const s of steps) {
          if (s.kind === 'add' && !files[s.file]!.includes(IMAGES[s.image]!))
            files[s.file]!.push(IMAGES[s.image]!)
          else if (s.kind === 'remove')
            files[s.file] = files[s.file]!.filter(i => i !== IMAGES[s.image])
          else if (s.kind === 'rebuild')
            upstream[s.image] = digest(Number.parseInt(upstream[s.image]!.slice(7), 16) + 1)
          else if (s.kind === 'run') {
            const references: FoundReference[] = []
            FILES.forEach((file, f) => {
              if (s.unreadableFiles.includes(f)) return
              files[f]!.forEach((image, line) => {
                const reference = found(image, line + 1, file)
                // a FROM whose ARG has no value: the line is read, the image is not known
                if (s.failedLines.includes(IMAGES.indexOf(image)))
                  references.push({ ...reference, image: undefined, error: 'ARG has no value' })
                else references.push(reference)
              })
            })
            const resolutions = new Map<string, Resolution>(
              IMAGES.map((image, i): [string, Resolution] => [
                key(image),
                s.registryErrors.includes(i)
                  ? { failure: { kind: 'network', registry: 'docker.io', message: 'down' } }
                  : { digest: upstream[i]! }
              ])
            )
            const before: Baseline | null = baseline
            baseline = compare(references, resolutions, before, {
              platforms: [],
              accept: s.accept,
              unreadable: s.unreadableFiles.map(f => ({ file: FILES[f]!, message: 'unreadable' })),
              now: '2026-11-27T00:00:00Z'
            }).next
            const named = new Set(files.flat().map(key))
            for (const [image, entry] of Object.entries(before?.images ?? {})) {
              if (!named.has(image)) continue
              // still named: never forgotten
              expect(baseline.images[image]).toBeDefined()
              // the known-good digest changes only by accepting what the registry answered
              const now = baseline.images[image]!.digest
              if (now !== entry.digest) {
                expect(s.accept).toBe(true)
                expect(now).toBe(upstream[IMAGES.findIndex(i => key(i) === image)])
              }
            }
          }
        }
      }),
      {
        numRuns: 5000,
        examples: [
          // moved from one file to another whose line then fails to scan
          [
            [
              { kind: 'add', file: 1, image: 0 },
              {
                kind: 'run',
                accept: false,
                unreadableFiles: [],
                failedLines: [],
                registryErrors: []
              },
              { kind: 'add', file: 0, image: 0 },
              { kind: 'remove', file: 1, image: 0 },
              {
                kind: 'run',
                accept: false,
                unreadableFiles: [],
                failedLines: [0],
                registryErrors: []
              }
            ]
          ]
        ]
      }
    )
  })
})
