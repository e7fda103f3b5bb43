import { builds } from './helpers/references.js'
import { formatReference } from '../src/reference/reference.js'
import { scanWorkflow } from '../src/sources/workflow/workflow.js'
import { pinLineIn } from './helpers/pin.js'

const images = (text: string) =>
  scanWorkflow('.github/workflows/ci.yml', text).references.map(r => [
    r.line,
    r.kind,
    r.image ? formatReference(r.image) : r.error
  ])

describe('scanning a GitHub workflow', () => {
  it('reads job containers, services and docker:// steps, in both forms, on their lines', () => {
    const workflow = [
      'on: push', // 1
      'jobs:', // 2
      '  test:', // 3
      '    runs-on: ubuntu-latest', // 4
      '    container: node:22-bookworm', // 5
      '    services:', // 6
      '      db:', // 7
      '        image: postgres:16', // 8
      '        env: { POSTGRES_PASSWORD: x }', // 9
      '      cache: redis:7-alpine', // 10
      '    steps:', // 11
      '      - uses: actions/checkout@v4', // 12
      '      - uses: docker://ghcr.io/hadolint/hadolint:v2.12.0', // 13
      '      - uses: ./.github/actions/local', // 14
      '  lint:', // 15
      '    runs-on: ubuntu-latest', // 16
      '    container:', // 17
      '      image: python:3.12-slim', // 18
      '      options: --user 1001', // 19
      '    steps: [{ run: make lint }]', // 20
      ''
    ].join('\n')
    expect(images(workflow)).toEqual([
      [5, 'workflow-container', 'docker.io/library/node:22-bookworm'],
      [8, 'workflow-service', 'docker.io/library/postgres:16'],
      [10, 'workflow-service', 'docker.io/library/redis:7-alpine'],
      [13, 'workflow-step', 'ghcr.io/hadolint/hadolint:v2.12.0'],
      [18, 'workflow-container', 'docker.io/library/python:3.12-slim']
    ])
    const [container, , cache, step] = scanWorkflow('.github/workflows/ci.yml', workflow).references
    const pin = (r: typeof container) => pinLineIn(workflow, r, `sha256:${'a'.repeat(64)}`)
    expect(pin(container)).toBe(`container: node:22-bookworm@sha256:${'a'.repeat(64)}`)
    expect(pin(cache)).toBe(`cache: redis:7-alpine@sha256:${'a'.repeat(64)}`)
    expect(pin(step)).toBe(
      `- uses: docker://ghcr.io/hadolint/hadolint:v2.12.0@sha256:${'a'.repeat(64)}`
    )
  })

  it('takes a container or service image written with docker://, as GitHub does', () => {
    // actions/runner, PipelineTemplateConverter.ConvertToJobContainer: an image starting with
    // `docker://` (case-sensitive) loses the prefix, for `container` and each of `services`
    const workflow = [
      'jobs:',
      '  build:',
      '    container: docker://rust:1.90.0', // 3
      '    services:',
      '      db: { image: "docker://postgres:16" }', // 5
      '    steps: [{ run: cargo build }]',
      ''
    ].join('\n')
    expect(images(workflow)).toEqual([
      [3, 'workflow-container', 'docker.io/library/rust:1.90.0'],
      [5, 'workflow-service', 'docker.io/library/postgres:16']
    ])
    const [container] = scanWorkflow('.github/workflows/ci.yml', workflow).references
    expect(pinLineIn(workflow, container, `sha256:${'b'.repeat(64)}`)).toBe(
      `container: docker://rust:1.90.0@sha256:${'b'.repeat(64)}`
    )
  })

  it('gives one reference per literal matrix value, include and exclude honoured; run-time values are notices', () => {
    const workflow = [
      'env:',
      '  BASE: alpine',
      'jobs:',
      '  test:',
      '    strategy:',
      '      matrix:',
      '        pg: [14, 15, 16]',
      '        exclude: [{ pg: 14 }]',
      '        include: [{ pg: 17, experimental: true }]',
      '    services:',
      '      db:',
      '        image: postgres:${{ matrix.pg }}', // 12
      '      tool: ${{ env.BASE }}:3.20', // 13
      '    container: ${{ inputs.image }}', // 14
      '  dynamic:',
      '    strategy:',
      '      matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}',
      '    container: node:${{ matrix.node }}', // 18
      ''
    ].join('\n')
    const scanned = scanWorkflow('.github/workflows/ci.yml', workflow)
    expect(images(workflow)).toEqual([
      [12, 'workflow-service', 'docker.io/library/postgres:15'],
      [12, 'workflow-service', 'docker.io/library/postgres:16'],
      [12, 'workflow-service', 'docker.io/library/postgres:17'],
      [13, 'workflow-service', 'docker.io/library/alpine:3.20']
    ])
    expect(scanned.notices).toEqual([
      {
        file: '.github/workflows/ci.yml',
        line: 14,
        message:
          'container: ${{ inputs.image }} is set at run time (${{ inputs.image }}), not checked'
      },
      {
        file: '.github/workflows/ci.yml',
        line: 18,
        message:
          'container: node:${{ matrix.node }} is set at run time (${{ matrix.node }}), not checked'
      }
    ])
    expect(scanned.warnings).toEqual([])
    expect(scanned.errors).toEqual([])
  })

  // GitHub Actions reads YAML anchors and aliases in workflows (a job's strategy, a service,
  // a list of steps reused): what an alias names is read as if written there.
  it('reads through aliases: a strategy, a service and steps reused from another job', () => {
    const workflow = [
      'on: push', // 1
      'jobs:', // 2
      '  unit:', // 3
      '    runs-on: ubuntu-latest', // 4
      '    strategy: &versions', // 5
      '      matrix:', // 6
      '        node: [20, 22]', // 7
      '    services:', // 8
      '      db: &postgres', // 9
      '        image: postgres:16', // 10
      '    steps: &lint', // 11
      '      - uses: docker://ghcr.io/hadolint/hadolint:v2.12.0', // 12
      '  image:', // 13
      '    runs-on: ubuntu-latest', // 14
      '    strategy: *versions', // 15
      '    container: node:${{ matrix.node }}-bookworm', // 16
      '    services:', // 17
      '      db: *postgres', // 18
      '    steps: *lint', // 19
      ''
    ].join('\n')
    const scanned = scanWorkflow('.github/workflows/ci.yml', workflow)
    expect(scanned.notices).toEqual([])
    expect(images(workflow)).toEqual([
      [10, 'workflow-service', 'docker.io/library/postgres:16'],
      [12, 'workflow-step', 'ghcr.io/hadolint/hadolint:v2.12.0'],
      // the matrix the alias names fills the container in: one image per value
      [16, 'workflow-container', 'docker.io/library/node:20-bookworm'],
      [16, 'workflow-container', 'docker.io/library/node:22-bookworm'],
      [10, 'workflow-service', 'docker.io/library/postgres:16'],
      [12, 'workflow-step', 'ghcr.io/hadolint/hadolint:v2.12.0']
    ])
  })

  it('follows docker/build-push-action to its Dockerfile, with build args and named contexts', () => {
    const workflow = [
      'jobs:',
      '  image:',
      '    steps:',
      '      - uses: docker/build-push-action@v6', // 4
      '        with:',
      '          context: services/api',
      '          build-args: |',
      '            PYTHON=3.12',
      '            SHA=${{ github.sha }}',
      '          build-contexts: |', // 10
      '            base=docker-image://python:3.12-slim', // 11
      '            src=../shared',
      '      - uses: docker/build-push-action@v6', // 13
      '        with:',
      '          file: ${{ matrix.dockerfile }}',
      ''
    ].join('\n')
    const scanned = scanWorkflow('.github/workflows/release.yml', workflow)
    expect(builds(scanned)).toEqual([
      {
        dockerfile: 'services/api/Dockerfile',
        buildArgs: { PYTHON: '3.12' },
        by: 'job "image" step 1 (docker/build-push-action)',
        line: 4,
        fromRoot: true,
        contexts: ['base']
      }
    ])
    expect(images(workflow)).toEqual([[11, 'build-context', 'docker.io/library/python:3.12-slim']])
    expect(scanned.notices).toEqual([
      {
        file: '.github/workflows/release.yml',
        line: 13,
        message:
          'job "image" step 2 (docker/build-push-action): ${{ matrix.dockerfile }} is set at run time, not checked'
      }
    ])
  })

  it('says a workflow with invalid YAML was not scanned, on its line', () => {
    expect(scanWorkflow('.github/workflows/x.yml', 'jobs:\n  a: [\n').errors[0]).toMatchObject({
      file: '.github/workflows/x.yml',
      message: expect.stringMatching(/^invalid YAML, file not scanned: /)
    })
  })
})

describe('literal values a workflow expands', () => {
  it('fills ${{ matrix.obj.field }} from a literal matrix of objects, include entries too', () => {
    const workflow = [
      'on: push',
      'jobs:',
      '  test:',
      '    runs-on: ubuntu-latest',
      '    strategy:',
      '      matrix:',
      '        db:',
      '          - { image: postgres, tag: "16" }',
      '          - { image: postgres, tag: "17" }',
      '        include:',
      '          - db: { image: mysql, tag: "8.4" }',
      '    services:',
      '      db:',
      '        image: ${{ matrix.db.image }}:${{ matrix.db.tag }}',
      '    steps:',
      '      - run: true'
    ].join('\n')
    expect(images(workflow)).toEqual([
      [14, 'workflow-service', 'docker.io/library/postgres:16'],
      [14, 'workflow-service', 'docker.io/library/postgres:17'],
      [14, 'workflow-service', 'docker.io/library/mysql:8.4']
    ])
    expect(scanWorkflow('.github/workflows/ci.yml', workflow).notices).toEqual([])
  })

  it('fills ${{ env.X }} and matrix values in a build-push-action step from the step, job and workflow env', () => {
    const workflow = [
      'on: push',
      'env:',
      '  DOCKERFILE: docker/app.Dockerfile',
      'jobs:',
      '  image:',
      '    runs-on: ubuntu-latest',
      '    strategy:',
      '      matrix:',
      '        python: ["3.12", "3.13"]',
      '    steps:',
      '      - uses: docker/build-push-action@v6',
      '        env:',
      '          BASE: python',
      '        with:',
      '          file: ${{ env.DOCKERFILE }}',
      '          build-args: |',
      '            BASE=${{ env.BASE }}:${{ matrix.python }}-slim',
      '            SHA=${{ github.sha }}'
    ].join('\n')
    const scanned = scanWorkflow('.github/workflows/ci.yml', workflow)
    expect(builds(scanned).map(b => [b.dockerfile, b.buildArgs])).toEqual([
      ['docker/app.Dockerfile', { BASE: 'python:3.12-slim' }],
      ['docker/app.Dockerfile', { BASE: 'python:3.13-slim' }]
    ])
    expect(scanned.notices).toEqual([])
  })

  it('keeps the notice for what only the run knows', () => {
    const workflow = [
      'on: push',
      'jobs:',
      '  image:',
      '    runs-on: ubuntu-latest',
      '    container: ${{ inputs.builder }}',
      '    steps:',
      '      - uses: docker/build-push-action@v6',
      '        with:',
      '          file: ${{ steps.meta.outputs.file }}'
    ].join('\n')
    expect(scanWorkflow('.github/workflows/ci.yml', workflow).notices!.map(n => n.message)).toEqual(
      [
        'container: ${{ inputs.builder }} is set at run time (${{ inputs.builder }}), not checked',
        'job "image" step 1 (docker/build-push-action): ${{ steps.meta.outputs.file }} is set at run time, not checked'
      ]
    )
  })
})

describe('remote build contexts', () => {
  it('a Git SSH address is remote for a workflow step as for Compose and Bake: noted, not followed', () => {
    const workflow = [
      'on: push',
      'jobs:',
      '  image:',
      '    runs-on: ubuntu-latest',
      '    steps:',
      '      - uses: docker/build-push-action@v6',
      '        with:',
      '          context: git@github.com:acme/app.git#main'
    ].join('\n')
    const scanned = scanWorkflow('.github/workflows/ci.yml', workflow)
    expect(builds(scanned)).toEqual([])
    expect(scanned.notices.map(n => n.message)).toEqual([
      'job "image" step 1 (docker/build-push-action): a remote build context (git@github.com:acme/app.git#main) is not checked'
    ])
  })
})
