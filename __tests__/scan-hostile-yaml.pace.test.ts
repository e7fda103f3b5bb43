import fc from 'fast-check'
import { composeSource } from '../src/sources/compose/compose.js'
import { scanHelmValues } from '../src/sources/helm-values.js'
import { kubernetesSource } from '../src/sources/kubernetes/kubernetes.js'
import { kustomizeSource } from '../src/sources/kustomize/kustomize.js'
import { workflowSource } from '../src/sources/workflow/workflow.js'
import {
  MAX_FLOW_DEPTH,
  MAX_FLOW_PER_DOCUMENT,
  MAX_FLOW_PER_LINE,
  MAX_OPEN_QUOTE_LINES
} from '../src/sources/read/yaml.js'
import type { SourceScan } from '../src/sources/read/source.js'
import {
  context,
  MiB,
  ORDINARY_COMPOSE,
  ORDINARY_MANIFESTS,
  ORDINARY_WORKFLOW,
  pace,
  within,
  YAML_ERRORS_RATIO,
  yamlValue
} from './helpers/hostile.js'

// Every YAML source (Compose, workflows, manifests, kustomizations, Helm values) reads values
// a pull request writes, quoted or not, and hands them to the yaml library: whatever they are,
// the scan answers in time proportional to the file, refusing what would not be.

/**
 * What a scan says of a hostile file is well formed: each reference an image or the reason
 * it is none, each problem on a line the file has.
 */
function expectWellFormed(scanned: SourceScan, text: string): void {
  const lines = text.split('\n').length
  for (const reference of scanned.references)
    expect(reference.image !== undefined || (reference.error ?? '') !== '').toBe(true)
  for (const problem of [...scanned.errors, ...scanned.warnings, ...scanned.notices])
    expect(problem.line ?? 1).toBeLessThanOrEqual(lines)
}

describe('hostile YAML values', () => {
  const composePace = pace(composeSource, 'compose.yaml', ORDINARY_COMPOSE)

  it('a Compose file with an unquoted hostile value, up to 1 MiB: a reference or an error, in linear time', () => {
    fc.assert(
      fc.property(yamlValue, value => {
        const text = `services:\n  web:\n    image: ${value}\n`
        const started = performance.now()
        const scanned = composeSource.scan('compose.yaml', text, context())
        within(performance.now() - started, text.length, composePace, YAML_ERRORS_RATIO)
        expectWellFormed(scanned, text)
      }),
      {
        numRuns: 15,
        // no shrinking: each run of a 1 MiB value costs a scan, and the first failure says enough
        endOnFailure: true,
        examples: [
          ['}'.repeat(120_000)],
          ['['.repeat(20_000)],
          [']'.repeat(MiB)],
          ['"'.repeat(MiB)]
        ]
      }
    )
  })

  it('a workflow with a hostile value, quoted or not, up to 1 MiB: references, notices or an error, in linear time', () => {
    const workflowPace = pace(workflowSource, '.github/workflows/ci.yml', ORDINARY_WORKFLOW)
    fc.assert(
      // one place per run, each place in turn: the value is not tripled into a file three times as long
      fc.property(yamlValue, fc.boolean(), fc.nat(2), (value, quoted, place) => {
        const shown = quoted ? JSON.stringify(value) : value
        const text = [
          `on: push\njobs:\n  a:\n    runs-on: x\n    container: ${shown}\n`,
          `on: push\njobs:\n  a:\n    runs-on: x\n    services:\n      db: ${shown}\n`,
          `on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: docker/build-push-action@v6\n        with:\n          build-contexts: ${shown}\n`
        ][place]
        const started = performance.now()
        const scanned = workflowSource.scan('.github/workflows/ci.yml', text, context())
        within(performance.now() - started, text.length, workflowPace, YAML_ERRORS_RATIO)
        expectWellFormed(scanned, text)
      }),
      {
        numRuns: 20,
        examples: [
          ['}'.repeat(120_000), false, 0],
          ['${{ '.repeat(200_000), true, 1],
          [': '.repeat(100_000), false, 2],
          ['&a '.repeat(100_000), false, 0],
          ['- '.repeat(200_000), false, 2]
        ]
      }
    )
  })

  it('a manifest stream, a kustomization and Helm values with a hostile value, quoted or not, up to 1 MiB: in linear time', () => {
    const manifestPace = pace(kubernetesSource, 'k8s/all.yaml', ORDINARY_MANIFESTS)
    fc.assert(
      // one kind of file per run, each in turn
      fc.property(yamlValue, fc.boolean(), fc.nat(2), (value, quoted, kind) => {
        const shown = quoted ? JSON.stringify(value) : value
        const kinds: [string, (text: string) => SourceScan][] = [
          [
            `apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Pod\n    spec:\n      containers:\n        - image: ${shown}\n`,
            (t: string) => kubernetesSource.scan('k8s/all.yaml', t, context())
          ],
          [
            `resources:\n  - ${shown}\nimages:\n  - name: x\n    newTag: ${shown}\n`,
            (t: string) => kustomizeSource.scan('kustomization.yaml', t, context())
          ],
          [
            `image:\n  repository: ${shown}\n  tag: "1"\n`,
            (t: string) => scanHelmValues('chart/values.yaml', t, '1.0.0')
          ]
        ]
        const [text, scan] = kinds[kind]
        const started = performance.now()
        const scanned = scan(text)
        within(performance.now() - started, text.length, manifestPace, YAML_ERRORS_RATIO)
        expectWellFormed(scanned, text)
      }),
      {
        numRuns: 20,
        endOnFailure: true,
        examples: [
          ['}'.repeat(120_000), false, 0],
          ['{{ '.repeat(200_000), true, 0],
          [': '.repeat(100_000), false, 1],
          ['&a '.repeat(100_000), false, 2],
          ['['.repeat(20_000), false, 0],
          // nested sequences, one per dash: the yaml library's stack overflowed on this
          ['- '.repeat(200_000), false, 1],
          ['- '.repeat(200_000), false, 0]
        ]
      }
    )
  })

  it(`refuses YAML with more than ${MAX_FLOW_PER_LINE} brackets on a line or nested ${MAX_FLOW_DEPTH} deep, on its line, before the yaml library sees it`, () => {
    for (const [text, line, why] of [
      [
        `services:\n  a:\n    image: ${'}'.repeat(120_000)}\n`,
        3,
        `more than ${MAX_FLOW_PER_LINE} YAML indicators on one line`
      ],
      [
        `services:\n  a:\n    image: ${'['.repeat(20_000)}\n`,
        3,
        `brackets nested more than ${MAX_FLOW_DEPTH} deep`
      ],
      [
        `include:\n  - ${'- '.repeat(200_000)}x\n`,
        2,
        `more than ${MAX_FLOW_PER_LINE} YAML indicators on one line`
      ]
    ] as const) {
      const started = performance.now()
      expect(composeSource.scan('compose.yaml', text, context()).errors).toEqual([
        { file: 'compose.yaml', line, message: `not scanned: ${why}` }
      ])
      within(performance.now() - started, text.length, composePace)
    }
  })

  // measured before the document bounds: ~1 MB of such lines took the library 10–21 s and up to
  // 1.7 GiB before it refused them (an ordinary 1 MB manifest: 2.2 s, 183 MiB)
  it('refuses a document of short lines that each cost the library an error: quotes, flow commas, stray closers', () => {
    const manifest = (body: string) => `apiVersion: v1\nkind: Pod\nspec:\n${body}`
    for (const [body, why] of [
      [
        '"\n'.repeat(520_000),
        `more than ${MAX_OPEN_QUOTE_LINES} lines open or close a quoted string in one document`
      ],
      [
        `  a: [\n${',\n'.repeat(520_000)}]\n`,
        `more than ${MAX_FLOW_PER_DOCUMENT} flow brackets and commas in one document`
      ],
      [
        '}\n'.repeat(520_000),
        `more than ${MAX_FLOW_PER_DOCUMENT} flow brackets and commas in one document`
      ]
    ]) {
      const text = manifest(body)
      const started = performance.now()
      const scanned = kubernetesSource.scan('k8s/pod.yaml', text, context())
      expect(scanned.errors.map(e => e.message)).toEqual([`not scanned: ${why}`])
      // refused by the guard's one pass, not after the library's
      expect(performance.now() - started).toBeLessThan(500)
    }
  })

  it('the worst document the bounds let through is parsed in linear time', () => {
    const manifestPace = pace(kubernetesSource, 'k8s/all.yaml', ORDINARY_MANIFESTS)
    // just under each bound, in a file of ordinary length; measured: 32,766 flow commas
    // 0.8 s, 32,768 stray closers 0.45 s, 4,096 open quotes 0.1 s (64 KB each)
    for (const body of [
      `  a: [\n${',\n'.repeat(MAX_FLOW_PER_DOCUMENT - 2)}]\n`,
      '}\n'.repeat(MAX_FLOW_PER_DOCUMENT),
      '"\n'.repeat(MAX_OPEN_QUOTE_LINES)
    ]) {
      const text = `apiVersion: v1\nkind: Pod\nspec:\n${body}`
      const started = performance.now()
      const scanned = kubernetesSource.scan('k8s/pod.yaml', text, context())
      expect(scanned.errors).toHaveLength(1)
      within(performance.now() - started, text.length, manifestPace, YAML_ERRORS_RATIO)
    }
  })

  // measured before: killed at 45 s of CPU for each of the three
  it('merge keys that double at each of 24 levels (under 1 KB) are looked through once each', () => {
    const levels = ['x-m0: &m0 {image: "redis:7"}']
    for (let i = 1; i <= 24; i++) levels.push(`x-m${i}: &m${i} {<<: [*m${i - 1}, *m${i - 1}]}`)
    const text = `${levels.join('\n')}\nservices:\n  cache:\n    <<: *m24\n`
    expect(text.length).toBeLessThan(1024)
    const started = performance.now()
    const scanned = composeSource.scan('compose.yaml', text, context())
    expect(performance.now() - started).toBeLessThan(1000)
    expect(scanned.references.map(r => r.image?.repository)).toEqual(['library/redis'])
  })

  it('6,000 containers whose image is one alias: each alias found in the index of anchors, not by a walk', () => {
    const containers = Array.from({ length: 6000 }, (_, i) => `    - name: c${i}\n      image: *i`)
    const text = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {a: &i "nginx:1.27"}\nspec:\n  containers:\n${containers.join('\n')}\n`
    const started = performance.now()
    const scanned = kubernetesSource.scan('k8s/pod.yaml', text, context())
    expect(performance.now() - started).toBeLessThan(3000)
    expect(scanned.errors).toEqual([])
    // every container pulls the anchor's image, written once
    expect(new Set(scanned.references.map(r => `${r.line} ${r.image?.tag}`))).toEqual(
      new Set(['5 1.27'])
    )
  })

  it('a List whose items are aliases of the level below, 8 at each of 7 levels: the Pod read once, where it is written', () => {
    const levels = ['x0: &l0 {kind: Pod, spec: {containers: [{name: a, image: "nginx:1.27"}]}}']
    for (let i = 1; i <= 7; i++)
      levels.push(
        `x${i}: &l${i} {kind: List, items: [${Array(8)
          .fill(`*l${i - 1}`)
          .join(', ')}]}`
      )
    const text = `apiVersion: v1\nkind: List\nmeta: {${levels.join(', ')}}\nitems: [*l7]\n`
    expect(text.length).toBeLessThan(1024)
    const started = performance.now()
    const scanned = kubernetesSource.scan('k8s/list.yaml', text, context())
    expect(performance.now() - started).toBeLessThan(1000)
    expect(scanned.references.map(r => [r.line, r.image?.tag])).toEqual([[3, '1.27']])
  })

  it('a List whose items merge the level below, 8 items at each of 7 levels: each list read once', () => {
    const levels = ['x0: &l0 {kind: Pod, spec: {containers: [{name: a, image: "nginx:1.27"}]}}']
    for (let i = 1; i <= 7; i++)
      levels.push(
        `x${i}: &l${i} {kind: List, items: [${Array(8)
          .fill(`{<<: *l${i - 1}}`)
          .join(', ')}]}`
      )
    const text = `apiVersion: v1\nkind: List\nmeta: {${levels.join(', ')}}\nitems: [{<<: *l7}]\n`
    const started = performance.now()
    const scanned = kubernetesSource.scan('k8s/list.yaml', text, context())
    expect(performance.now() - started).toBeLessThan(1000)
    expect(scanned.references.map(r => r.image?.tag)).toEqual(['1.27'])
  })
})
