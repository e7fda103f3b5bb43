import { formatReference } from '../src/reference/reference.js'
import { kindSpec } from '../src/sources/index.js'
import { scanWorkflow } from '../src/sources/workflow.js'

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
    const pin = (r: typeof container) =>
      kindSpec(r).pin({ ...r, image: r.image! }, `sha256:${'a'.repeat(64)}`)
    expect(pin(container)).toBe(
      `container: docker.io/library/node:22-bookworm@sha256:${'a'.repeat(64)}`
    )
    expect(pin(cache)).toBe(`cache: docker.io/library/redis:7-alpine@sha256:${'a'.repeat(64)}`)
    expect(pin(step)).toBe(
      `uses: docker://ghcr.io/hadolint/hadolint:v2.12.0@sha256:${'a'.repeat(64)}`
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
    expect(scanned.builds).toEqual([
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
