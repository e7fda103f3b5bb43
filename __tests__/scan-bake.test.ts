import { builds } from './helpers/references.js'
import { formatReference } from '../src/reference/reference.js'
import { bakeSource, scanBake } from '../src/sources/bake/bake.js'
import { parseHcl } from '../src/sources/read/hcl.js'
import type { BakeInvocation } from '../src/sources/bake/bake.js'
import { scanContext } from './helpers/scan-context.js'
import { pinLineIn } from './helpers/pin.js'

const context = (beside: Record<string, string> = {}, variables: Record<string, string> = {}) =>
  scanContext<BakeInvocation>(beside, { variables })

const BAKE = `
# the release images
variable "PYTHON" {
  default = "3.12"
}
variable "REGISTRY" {
  default = "ghcr.io/acme"
}

group "default" {
  targets = ["api", "worker"]
}

target "_common" {
  context = "services"
  args = {
    PYTHON_VERSION = "\${PYTHON}"
    BUILD_DATE     = timestamp()
  }
}

target "api" {
  inherits   = ["_common"]
  dockerfile = "api/Dockerfile"
  args = {
    APP = "api"
  }
  contexts = {
    base = "docker-image://python:\${PYTHON}-slim"
    src  = "../shared"
  }
  tags = ["\${REGISTRY}/api:latest"]
}

target "worker" {
  inherits = ["_common"]
  name     = "worker-\${flavour}"
  matrix = {
    flavour = ["cpu", "gpu"]
  }
  dockerfile = "worker/Dockerfile.\${flavour}"
}

target "dynamic" {
  dockerfile = equal(PYTHON, "3.12") ? "a.Dockerfile" : "b.Dockerfile"
}
`

describe('Bake expressions, as Buildx evaluates variable defaults', () => {
  // buildx bake/hclparser: HCL's operators and conditionals, and the stdlib functions
  // (stdlib.go: equal, notequal, and, or, lower, upper, trimprefix, replace, join, …)
  const dockerfileOf = (variables: string) =>
    builds(
      scanBake(
        'docker-bake.hcl',
        [`${variables}\ntarget "default" {\n  args = { BASE = BASE }\n}\n`],
        context()
      )
    ).map(b => b.buildArgs.BASE)
  it.each([
    [
      'variable "X" { default = "a" }\nvariable "BASE" { default = X == "a" ? "alpine:3.20" : "debian:12" }',
      'alpine:3.20'
    ],
    [
      'variable "X" { default = "b" }\nvariable "BASE" { default = X == "a" ? "alpine:3.20" : "debian:12" }',
      'debian:12'
    ],
    [
      'variable "V" { default = "3.12" }\nvariable "BASE" { default = notequal(V, "") ? "python:${V}-slim" : "python:slim" }',
      'python:3.12-slim'
    ],
    ['variable "BASE" { default = join(":", ["node", lower("22-ALPINE")]) }', 'node:22-alpine'],
    [
      'variable "T" { default = "v1.4.0" }\nvariable "BASE" { default = "acme/app:${trimprefix(T, "v")}" }',
      'acme/app:1.4.0'
    ],
    [
      'variable "BASE" { default = replace("golang:1.23-bookworm", "bookworm", "alpine") }',
      'golang:1.23-alpine'
    ],
    [
      'variable "N" { default = 2 }\nvariable "BASE" { default = N + 1 > 2 && !false ? "big" : "small" }',
      'big'
    ],
    ['variable "BASE" { default = upper(and(true, or(false, true)) ? "x" : "y") }', 'X']
  ])('%s gives BASE=%s', (variables, base) => {
    expect(dockerfileOf(variables)).toEqual([base])
  })

  it('a chain of operators past the bound is an error on its line, never a deep evaluation', () => {
    const scanned = scanBake(
      'docker-bake.hcl',
      [`variable "N" {\n  default = ${'1 + '.repeat(100_000)}1\n}\n`],
      context()
    )
    expect(scanned.errors).toEqual([
      {
        file: 'docker-bake.hcl',
        line: 2,
        message: expect.stringContaining('more than 4096 operators')
      }
    ])
  })

  it('leaves to Bake what only it knows, and says so', () => {
    const scanned = scanBake(
      'docker-bake.hcl',
      [
        'variable "BASE" { default = "${timestamp()}" }\ntarget "default" {\n  args = { BASE = BASE }\n}\n'
      ],
      context()
    )
    expect(scanned.notices?.map(n => n.message)).toEqual([
      'target "default": arg BASE: the function timestamp() is evaluated by Bake; left out'
    ])
  })
})

describe('scanning a Buildx Bake file', () => {
  it('builds each target with its inherited args, a build per matrix value, and its image contexts', () => {
    const scanned = scanBake('docker-bake.hcl', [BAKE], context())
    // _common is only inherited and no group names it: a mixin, never built on its own
    expect(builds(scanned).map(b => [b.by, b.dockerfile, b.buildArgs, b.contexts, b.line])).toEqual(
      [
        [
          'bake target "api"',
          'services/api/Dockerfile',
          { PYTHON_VERSION: '3.12', APP: 'api' },
          ['base', 'src'],
          22
        ],
        [
          'bake target "worker-cpu"',
          'services/worker/Dockerfile.cpu',
          { PYTHON_VERSION: '3.12' },
          [],
          35
        ],
        [
          'bake target "worker-gpu"',
          'services/worker/Dockerfile.gpu',
          { PYTHON_VERSION: '3.12' },
          [],
          35
        ],
        // Bake's HCL evaluates the conditional and its stdlib's equal()
        ['bake target "dynamic"', 'a.Dockerfile', {}, [], 44]
      ]
    )
    expect(
      scanned.references.map(r => [r.line, r.kind, r.image ? formatReference(r.image) : r.error])
    ).toEqual([[29, 'bake-context', 'docker.io/library/python:3.12-slim']])
    expect(scanned.notices?.map(n => [n.line, n.message])).toEqual([
      [18, 'target "api": arg BUILD_DATE: the function timestamp() is evaluated by Bake; left out'],
      [
        18,
        'target "worker": arg BUILD_DATE: the function timestamp() is evaluated by Bake; left out'
      ]
    ])
    const [reference] = scanned.references
    expect(pinLineIn(BAKE, reference, `sha256:${'b'.repeat(64)}`)).toBe(
      `base = "docker-image://python:\${PYTHON}-slim@sha256:${'b'.repeat(64)}"`
    )
  })

  it('merges docker-bake.override.hcl as Bake does, and takes a variable the workflow gives', () => {
    const override =
      'variable "PYTHON" {\n  default = "3.13"\n}\ntarget "api" {\n  args = { APP = "api2" }\n}\n'
    const scanned = bakeSource.scan(
      'docker-bake.hcl',
      BAKE,
      context({ 'docker-bake.override.hcl': override })
    )
    expect(builds(scanned).find(b => b.by === 'bake target "api"')?.buildArgs).toEqual({
      PYTHON_VERSION: '3.13',
      APP: 'api2'
    })
    // scanned once, with the file it overrides
    expect(
      builds(
        bakeSource.scan('docker-bake.override.hcl', override, context({ 'docker-bake.hcl': BAKE }))
      )
    ).toEqual([])
    const given = scanBake('docker-bake.hcl', [BAKE], context({}, { PYTHON: '3.11' }))
    expect(given.references.map(r => r.image && formatReference(r.image))).toEqual([
      'docker.io/library/python:3.11-slim'
    ])
  })

  it('reads docker-bake.json the same way', () => {
    const json = JSON.stringify(
      {
        variable: { TAG: { default: '1.27' } },
        target: {
          web: {
            context: 'web',
            args: { NGINX: '${TAG}' },
            contexts: { nginx: 'docker-image://nginx:${TAG}-alpine' }
          }
        }
      },
      null,
      2
    )
    const scanned = scanBake('docker-bake.json', [json], context())
    expect(builds(scanned)).toMatchObject([
      {
        dockerfile: 'web/Dockerfile',
        buildArgs: { NGINX: '1.27' },
        contexts: ['nginx'],
        by: 'bake target "web"'
      }
    ])
    expect(scanned.references.map(r => [r.line, r.image && formatReference(r.image)])).toEqual([
      [14, 'docker.io/library/nginx:1.27-alpine']
    ])
  })

  it('says where an invalid Bake file breaks, and refuses deep nesting', () => {
    expect(scanBake('docker-bake.hcl', ['target "a" {\n  args = {\n'], context()).errors).toEqual([
      {
        file: 'docker-bake.hcl',
        line: 3,
        message: expect.stringMatching(/^invalid Bake file, not scanned: /)
      }
    ])
    expect(() => parseHcl(`x = ${'['.repeat(5000)}`)).toThrow('nested more than 64 deep')
  })
})

describe('Bake as buildx evaluates it', () => {
  // HCL template unwrapping (hcl/v2 hclsyntax TemplateWrapExpr), which buildx relies on: a
  // string that is one interpolation yields the value itself; buildx drops an arg whose value
  // is null, so the Dockerfile's own ARG default applies.
  it('keeps a null default null and drops the arg', () => {
    const bake = `variable "GO_VERSION" {\n  default = null\n}\ntarget "default" {\n  args = {\n    GO_VERSION = "\${GO_VERSION}"\n    DEBUG = "\${GO_VERSION}-x"\n  }\n}\n`
    const [build] = builds(scanBake('docker-bake.hcl', [bake], context()))
    expect(build.buildArgs).toEqual({ DEBUG: '-x' })
  })

  // buildx bake resolves context and dockerfile against the directory it runs in, which for
  // docker/bake-action is its workdir (default the repository root), not the Bake file's folder.
  it('resolves context and dockerfile against the workdir of the step that runs it', () => {
    const bake = 'target "api" {\n  context = "services/api"\n}\n'
    const run = (workdir?: string) =>
      builds(
        scanBake('ci/docker-bake.hcl', [bake], {
          ...context(),
          ...(workdir !== undefined ? { passed: { workdir, targets: [] } } : {})
        })
      ).map(b => [b.dockerfile, b.fromRoot ?? false])
    expect(run('.')).toEqual([['services/api/Dockerfile', true]])
    expect(run('build')).toEqual([['build/services/api/Dockerfile', true]])
    // found on its own, the Bake file's folder is where it would run
    expect(run()).toEqual([['services/api/Dockerfile', false]])
  })

  it('builds a target others inherit only when a group or the workflow step names it', () => {
    const bake =
      'target "base" {\n  dockerfile = "base.Dockerfile"\n}\ntarget "app" {\n  inherits = ["base"]\n}\ngroup "release" {\n  targets = ["all"]\n}\ngroup "all" {\n  targets = ["app", "tools"]\n}\ntarget "tools" {\n  inherits = ["base"]\n}\n'
    const built = (targets?: string[]) =>
      builds(
        scanBake('docker-bake.hcl', [bake], {
          ...context(),
          ...(targets ? { passed: { workdir: '.', targets } } : {})
        })
      ).map(b => b.by)
    expect(built()).toEqual(['bake target "app"', 'bake target "tools"'])
    expect(built(['base'])).toEqual([
      'bake target "base"',
      'bake target "app"',
      'bake target "tools"'
    ])
  })
})
