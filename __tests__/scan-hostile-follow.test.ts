import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { formatReference } from '../src/reference/reference.js'
import { MAX_READINGS_PER_FILE, MAX_REFERENCES } from '../src/sources/discover.js'
import { discoverDirectory } from './helpers/references.js'

// A pull request writes the files that name other files: a kustomization's resources, a
// Compose include, a workflow's Bake files. Following them ends, whatever they say: a cycle
// is one error naming it, a file is read at most a bounded number of ways, and the scan ends
// within the run's limit. The figures in the names were measured before the bounds: killed
// at 45–60 s of CPU and 1.1–2 GiB for the first three.
describe('following files a pull request wrote', () => {
  let root = ''
  const write = (files: Record<string, string>) => {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(root, dirname(path)), { recursive: true })
      writeFileSync(join(root, path), text)
    }
  }
  const DEPLOYMENT =
    'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.27\n'
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'bid-follow-'))
  })
  afterEach(() => rmSync(root, { recursive: true, force: true }))

  // kustomize refuses it too (api/krusty: "cycle detected" for a kustomization that
  // reaches itself through its resources)
  it('a kustomization that lists itself: one error naming the cycle, the manifest still read', async () => {
    write({
      'k8s/kustomization.yaml': 'resources:\n  - .\n  - web.yaml\n',
      'k8s/web.yaml': DEPLOYMENT
    })
    const found = await discoverDirectory(root)
    expect(found.errors).toEqual([
      {
        file: 'k8s/kustomization.yaml',
        line: 2,
        message:
          '. lists a kustomization already being built (k8s/kustomization.yaml → k8s/kustomization.yaml); not followed'
      }
    ])
    expect(found.references.map(r => r.image && formatReference(r.image))).toEqual([
      'docker.io/library/nginx:1.27'
    ])
  })

  it('a kustomization that lists a link to its own folder: one file by its real path, its readings bounded', async () => {
    write({
      'k8s/kustomization.yaml': 'resources:\n  - loop\n  - web.yaml\n',
      'k8s/web.yaml': DEPLOYMENT
    })
    symlinkSync('.', join(root, 'k8s', 'loop'))
    const found = await discoverDirectory(root)
    // the kustomization and the manifest it lists, each said once
    expect(found.errors.map(e => e.message.split(' builds ')[1])).toEqual([
      'k8s/loop/kustomization.yaml, which is read in more than 256 ways; the others are not scanned',
      'k8s/web.yaml, which is read in more than 256 ways; the others are not scanned'
    ])
    expect(found.references.map(r => r.file)).toEqual(['k8s/web.yaml'])
  })

  // compose-go refuses it ("include cycle detected"): each file is still read once
  it('two Compose files that include each other: one error naming the cycle, both read', async () => {
    write({
      'compose.yaml': 'include:\n  - b/compose.yaml\nservices:\n  a:\n    image: redis:7\n',
      'b/compose.yaml': 'include:\n  - ../compose.yaml\nservices:\n  b:\n    image: nginx:1.27\n'
    })
    const found = await discoverDirectory(root)
    expect(found.errors).toHaveLength(1)
    expect(found.errors[0].message).toMatch(
      /^include \S+ is a cycle \(.+ → .+ → .+\); not followed$/
    )
    expect(found.references.map(r => r.image && formatReference(r.image)).sort()).toEqual([
      'docker.io/library/nginx:1.27',
      'docker.io/library/redis:7'
    ])
  })

  it('two kustomizations that list each other: one error naming the cycle', async () => {
    write({
      'a/kustomization.yaml': 'resources:\n  - ../b\n',
      'b/kustomization.yaml': 'resources:\n  - ../a\n  - web.yaml\n',
      'b/web.yaml': DEPLOYMENT
    })
    const found = await discoverDirectory(root)
    expect(found.errors).toEqual([
      {
        file: 'b/kustomization.yaml',
        line: 2,
        message:
          '../a lists a kustomization already being built (a/kustomization.yaml → b/kustomization.yaml → a/kustomization.yaml); not followed'
      }
    ])
    expect(found.references).toHaveLength(1)
  })

  it(`16 levels of diamonds (2^16 paths to the bottom): each file read at most ${MAX_READINGS_PER_FILE} ways, said once`, async () => {
    const files: Record<string, string> = { 'l16/a/web.yaml': DEPLOYMENT }
    for (let level = 0; level < 16; level++)
      for (const side of ['a', 'b'])
        files[`l${level}/${side}/kustomization.yaml`] =
          `resources:\n  - ../../l${level + 1}/a\n  - ../../l${level + 1}/b\n`
    files['l16/a/kustomization.yaml'] = 'resources:\n  - web.yaml\n'
    files['l16/b/kustomization.yaml'] = 'resources:\n  - ../a/web.yaml\n'
    write(files)
    const found = await discoverDirectory(root)
    expect(found.errors.length).toBeGreaterThan(0)
    for (const error of found.errors)
      expect(error.message).toMatch(
        new RegExp(
          `which is read in more than ${MAX_READINGS_PER_FILE} ways; the others are not scanned$`
        )
      )
    // said once for each file that reached the bound
    const capped = found.errors.map(e => e.message.split(' builds ')[1])
    expect(new Set(capped).size).toBe(capped.length)
    expect(found.references.map(r => r.image && formatReference(r.image))).toEqual([
      'docker.io/library/nginx:1.27'
    ])
  })

  it('a folder listed 30,000 times, its kustomization 1 MiB: read once, not once an entry', async () => {
    const big = `resources:\n  - web.yaml\n# ${'x'.repeat(1024 * 1024 - 64)}\n`
    write({
      'app/kustomization.yaml': `resources:\n${'  - ../base\n'.repeat(30_000)}`,
      'base/kustomization.yaml': big,
      'base/web.yaml': DEPLOYMENT
    })
    const found = await discoverDirectory(root)
    // measured before: 41 s of CPU
    expect(found.errors).toEqual([])
    expect(found.references).toHaveLength(1)
  })

  it("a scan past the run's limit stops there, with an error naming what was not read", async () => {
    write({
      Dockerfile: 'FROM alpine:3.20\n',
      'compose.yaml': 'services:\n  a:\n    image: redis:7\n'
    })
    const found = await discoverDirectory(root, {
      deadline: { at: performance.now() - 1, described: '300 s (10 × timeout)' }
    })
    expect(found.errors).toEqual([
      {
        file: 'compose.yaml',
        message:
          "the scan did not end within the run's limit (300 s (10 × timeout)): this file and 1 more readings were not scanned"
      }
    ])
  })

  it(`more than ${MAX_REFERENCES} image references in all: an error, the files after it not scanned`, async () => {
    const many = 'FROM alpine:3.20\n'.repeat(60_000)
    write({ 'a/Dockerfile': many, 'b/Dockerfile': many, 'c/Dockerfile': many })
    const found = await discoverDirectory(root)
    expect(found.errors).toEqual([
      {
        file: 'b/Dockerfile',
        message: `more than ${MAX_REFERENCES} image references in all; the files after this one were not scanned`
      }
    ])
    expect(found.references.length).toBeGreaterThan(MAX_REFERENCES)
    expect(found.references.some(r => r.file === 'c/Dockerfile')).toBe(false)
  })
})
