import { builds } from './helpers/references.js'
import { bakeSource } from '../src/sources/bake/bake.js'
import { parseSbom, sharedObject } from '../src/explain/packages.js'
import type { BakeInvocation } from '../src/sources/bake/bake.js'
import { workflowSource } from '../src/sources/workflow/workflow.js'
import { scanContext } from './helpers/scan-context.js'

// What a few hundred bytes (or a large but ordinary file) could make the scan do before:
// each case here took tens of seconds or ran out of memory; each is now linear in its input.
const context = scanContext<BakeInvocation>()

describe('expansions a hostile file asks for', () => {
  it('a ladder of inheritance diamonds 22 deep resolves each target once', () => {
    let bake = 'target "t0" {\n  args = { A = "0" }\n}\n'
    for (let i = 1; i <= 22; i++)
      bake += `target "l${i}" {\n  inherits = ["${i === 1 ? 't0' : `t${i - 1}`}"]\n}\ntarget "r${i}" {\n  inherits = ["${i === 1 ? 't0' : `t${i - 1}`}"]\n}\ntarget "t${i}" {\n  inherits = ["l${i}", "r${i}"]\n}\n`
    const scanned = bakeSource.scan('docker-bake.hcl', bake, context)
    expect(builds(scanned).find(b => b.by === 'bake target "t22"')?.buildArgs).toEqual({ A: '0' })
  })

  it('variables that double each other 26 deep stop at 64 KiB instead of growing to 64 MiB', () => {
    let bake = 'variable "v26" {\n  default = "x"\n}\n'
    for (let i = 25; i >= 0; i--)
      bake += `variable "v${i}" {\n  default = "\${v${i + 1}}\${v${i + 1}}"\n}\n`
    bake += 'target "a" {\n  args = { A = "${v0}" }\n}\n'
    const scanned = bakeSource.scan('docker-bake.hcl', bake, context)
    expect(scanned.notices!.map(n => n.message)).toEqual([
      'target "a": arg A: a value longer than 64 KiB; left out'
    ])
  })

  it("an 800 KB docker-bake.json finds every key's line in one pass", () => {
    const targets = Object.fromEntries(
      Array.from({ length: 9000 }, (_, i) => [
        `t${i}`,
        { context: `svc/${i}`, args: { V: `${i}` } }
      ])
    )
    const json = JSON.stringify({ target: targets }, null, 2)
    expect(json.length).toBeGreaterThan(800_000)
    const scanned = bakeSource.scan('docker-bake.json', json, context)
    expect(builds(scanned)).toHaveLength(9000)
    expect(builds(scanned).at(-1)!.line).toBe(
      json.split('\n').findIndex(l => l.includes('"t8999"')) + 1
    )
  })

  it('30,000 build-contexts lines are each placed on their line in one pass', () => {
    const entries = Array.from(
      { length: 30_000 },
      (_, i) => `            c${i}=docker-image://alpine:${i}`
    )
    const workflow = `on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: docker/build-push-action@v6\n        with:\n          build-contexts: |\n${entries.join('\n')}\n`
    const scanned = workflowSource.scan('.github/workflows/ci.yml', workflow, context)
    expect(scanned.references).toHaveLength(30_000)
    expect(scanned.references.at(-1)!.line).toBe(9 + 29_999)
  })
})

describe('registry text that would be quadratic or crash', () => {
  it('a 220,000-character package name is not matched for a shared object', () => {
    const object = sharedObject(`lib${'a-1'.repeat(73_000)}x`)
    expect(object).toBeNull()
    expect(sharedObject('libssl1.1')).toBe('libssl.so.1.1')
  })

  it('an SBOM whose packages include null, numbers and lists reads the entries that are packages', () => {
    const entry = {
      name: 'libc6',
      versionInfo: '2.36-9',
      externalRefs: [
        null,
        { referenceType: 'purl', referenceLocator: 'pkg:deb/debian/libc6@2.36-9' }
      ]
    }
    expect(parseSbom({ spdxVersion: 'SPDX-2.3', packages: [null, 5, [], entry] })).toEqual([
      { name: 'libc6', version: '2.36-9', type: 'deb' }
    ])
    expect(parseSbom({ bomFormat: 'CycloneDX', components: [null, 'x'] })).toEqual([])
  })
})
