import { pinPlaces } from '../src/pin/place.js'
import { bakeSource } from '../src/sources/bake/bake.js'
import { dockerfileSource } from '../src/sources/dockerfile/dockerfile.js'
import { kubernetesSource } from '../src/sources/kubernetes/kubernetes.js'
import { FileText } from '../src/sources/read/pin-site.js'
import type { Source } from '../src/sources/read/source.js'
import { context } from './helpers/hostile.js'

// A pull request can add a file of thousands of references, each a new image the report
// pins: placing every pin costs time in proportion to the file, never to the file for each
// reference. Measured as time per byte at 8 times the size against 1 time, not a clock.

/** The best of three times per byte to place every pin of a file. */
function perByte(source: Source, file: string, text: string): number {
  // the build sets the ARGs the file leaves without a default
  const buildArgs = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`S${i}`, `:1.${i}`]))
  const references = source.scan(file, text, { ...context(), buildArgs }).references
  expect(references.filter(r => r.image).length).toBeGreaterThan(100)
  let best = Infinity
  for (let i = 0; i < 3; i++) {
    const started = performance.now()
    const places = pinPlaces(new FileText(file, text), references)
    best = Math.min(best, performance.now() - started)
    expect(places.size).toBe(references.filter(r => r.image).length)
  }
  return best / text.length
}

/** Quadratic work is 8 times slower per byte at 8 times the size; linear stays within noise. */
const GROWTH = 3

describe('placing the pins of a large file', () => {
  it.each([
    [
      'a Dockerfile whose every FROM names an ARG with no default (each looked up)',
      dockerfileSource,
      'Dockerfile',
      (n: number) =>
        Array.from({ length: 50 }, (_, i) => `ARG S${i}\n`).join('') +
        Array.from({ length: n }, (_, i) => `FROM ghcr.io/acme/app${i}\${S${i % 50}}\n`).join('')
    ],
    [
      'a Dockerfile of plain FROM lines, some with a digest',
      dockerfileSource,
      'Dockerfile',
      (n: number) =>
        Array.from({ length: n }, (_, i) => `FROM ghcr.io/acme/app${i}:1.${i} AS s${i}\n`).join('')
    ],
    [
      'one RUN of thousands of --mount lines (its words read once, not once per image)',
      dockerfileSource,
      'Dockerfile',
      (n: number) =>
        `FROM alpine:3\nRUN ${Array.from({ length: n }, (_, i) => `--mount=type=bind,from=ghcr.io/acme/img${i}:1,target=/m${i}`).join(' \\\n    ')} true\n`
    ],
    [
      'a Bake line of thousands of contexts',
      bakeSource,
      'docker-bake.hcl',
      (n: number) =>
        `target "default" {\n  contexts = { ${Array.from({ length: n }, (_, i) => `c${i} = "docker-image://ghcr.io/acme/img${i}:1"`).join(', ')} }\n}\n`
    ],
    [
      'a Pod of thousands of containers (one YAML parse, not one per image)',
      kubernetesSource,
      'pod.yaml',
      (n: number) =>
        `apiVersion: v1\nkind: Pod\nmetadata: {name: big}\nspec:\n  containers:\n${Array.from(
          { length: n },
          (_, i) => `    - name: c${i}\n      image: "ghcr.io/acme/app${i}:1.${i}"\n`
        ).join('')}`
    ]
  ])('%s: linear in the file', (_, source, file, text) => {
    const small = perByte(source, file, text(500))
    const large = perByte(source, file, text(4000))
    expect(large / small).toBeLessThan(GROWTH)
  })
})
