import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { formatReference } from '../src/reference/reference.js'
import { discover } from '../src/sources/discover.js'
import { scanHelmValues } from '../src/sources/helm-values.js'
import { sourceFor } from '../src/sources/index.js'
import { pinLineIn } from './helpers/pin.js'
import { applyOverrides, scanManifests } from '../src/sources/kubernetes/kubernetes.js'
import { isPatched } from '../src/sources/kubernetes/selector.js'
import type { FoundReference } from '../src/sources/read/source.js'

const shown = (references: FoundReference[]) =>
  references.map(r => [
    r.file,
    r.line,
    r.kind,
    r.image ? formatReference(r.image) : `error: ${r.error}`
  ])

const DEPLOYMENT = [
  'apiVersion: apps/v1', // 1
  'kind: Deployment', // 2
  'metadata:', // 3
  '  name: web', // 4
  'spec:', // 5
  '  template:', // 6
  '    spec:', // 7
  '      initContainers:', // 8
  '        - name: migrate', // 9
  '          image: ghcr.io/acme/migrate:1.4', // 10
  '      containers:', // 11
  '        - name: web', // 12
  '          image: nginx:1.27', // 13
  '        - name: sidecar', // 14
  '          image: "busybox:1.36"', // 15
  ''
].join('\n')

describe('Kubernetes manifests', () => {
  // The Pod spec paths are those of the core workload types: Pod (spec), Deployment,
  // StatefulSet, DaemonSet, ReplicaSet and Job (spec.template.spec), CronJob
  // (spec.jobTemplate.spec.template.spec); a `v1/List` holds objects in `items`.
  it('reads containers and initContainers of a workload template, each on its own line', () => {
    expect(shown(scanManifests('k8s/web.yaml', DEPLOYMENT).references)).toEqual([
      ['k8s/web.yaml', 10, 'kubernetes', 'ghcr.io/acme/migrate:1.4'],
      ['k8s/web.yaml', 13, 'kubernetes', 'docker.io/library/nginx:1.27'],
      ['k8s/web.yaml', 15, 'kubernetes', 'docker.io/library/busybox:1.36']
    ])
  })

  it('reads every document of a stream: a Pod, a CronJob, a List of objects, ephemeral containers', () => {
    const stream = [
      'apiVersion: v1', // 1
      'kind: Pod', // 2
      'spec:', // 3
      '  containers: [{name: a, image: "redis:7"}]', // 4
      '  ephemeralContainers:', // 5
      '    - {name: debug, image: "busybox:1.36"}', // 6
      '---', // 7
      'apiVersion: batch/v1', // 8
      'kind: CronJob', // 9
      'spec:', // 10
      '  jobTemplate:', // 11
      '    spec:', // 12
      '      template:', // 13
      '        spec:', // 14
      '          containers:', // 15
      '            - image: postgres:16', // 16
      '---', // 17
      'apiVersion: v1', // 18
      'kind: List', // 19
      'items:', // 20
      '  - apiVersion: apps/v1', // 21
      '    kind: StatefulSet', // 22
      '    spec:', // 23
      '      template:', // 24
      '        spec:', // 25
      '          containers:', // 26
      '            - image: quay.io/prometheus/prometheus:v2.53.0', // 27
      ''
    ].join('\n')
    expect(shown(scanManifests('all.yaml', stream).references)).toEqual([
      ['all.yaml', 4, 'kubernetes', 'docker.io/library/redis:7'],
      ['all.yaml', 6, 'kubernetes', 'docker.io/library/busybox:1.36'],
      ['all.yaml', 16, 'kubernetes', 'docker.io/library/postgres:16'],
      ['all.yaml', 27, 'kubernetes', 'quay.io/prometheus/prometheus:v2.53.0']
    ])
  })

  it('pins on the image line, and says an empty or wrong image is an error on its line', () => {
    const [reference] = scanManifests('k8s/web.yaml', DEPLOYMENT).references.slice(1)
    const digest = `sha256:${'a'.repeat(64)}`
    expect(pinLineIn(DEPLOYMENT, reference, digest)).toBe(`image: nginx:1.27@${digest}`)
    const broken =
      'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image:\n    - image: Nginx\n'
    expect(shown(scanManifests('pod.yaml', broken).references)).toEqual([
      ['pod.yaml', 5, 'kubernetes', 'error: image: is empty or not a string'],
      ['pod.yaml', 6, 'kubernetes', expect.stringMatching(/^error: .*lowercase/)]
    ])
  })

  it('says a Helm template is not scanned, on the line of its first {{, and is no error', () => {
    const scanned = scanManifests(
      'chart/templates/deployment.yaml',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include "x.fullname" . }}\n'
    )
    expect(scanned.errors).toEqual([])
    expect(scanned.references).toEqual([])
    expect(scanned.notices).toEqual([
      {
        file: 'chart/templates/deployment.yaml',
        line: 4,
        message: 'a template ({{ … }}): not scanned'
      }
    ])
  })

  it('reads every document of an install manifest whose ConfigMap carries a Go template; a document or image that is a template is a notice', () => {
    // an install.yaml as controllers ship them: the templates live in a ConfigMap's block
    // scalar (rendered by the controller), the Deployment is plain YAML
    const manifest = [
      'apiVersion: v1', // 1
      'kind: ConfigMap', // 2
      'metadata: { name: templates }', // 3
      'data:', // 4
      '  sidecar: |', // 5
      '    image: {{ .Values.proxy.image }}', // 6
      '---', // 7
      'apiVersion: apps/v1', // 8
      'kind: Deployment', // 9
      'metadata: { name: controller }', // 10
      'spec:', // 11
      '  template:', // 12
      '    spec:', // 13
      '      containers:', // 14
      '        - name: manager', // 15
      '          image: ghcr.io/acme/controller:v1.4.0', // 16
      '        - name: proxy', // 17
      '          image: "{{ .ProxyImage }}"', // 18
      '---', // 19
      '{{- if .Values.webhook }}', // 20
      'apiVersion: v1', // 21
      'kind: Job', // 22
      '{{- end }}', // 23
      ''
    ].join('\n')
    const scanned = scanManifests('config/install.yaml', manifest)
    expect(scanned.errors).toEqual([])
    expect(scanned.references.map(r => [r.line, r.image && formatReference(r.image)])).toEqual([
      [16, 'ghcr.io/acme/controller:v1.4.0']
    ])
    expect(scanned.notices).toEqual([
      {
        file: 'config/install.yaml',
        line: 18,
        message: 'image: {{ .ProxyImage }} is a template: not scanned'
      },
      { file: 'config/install.yaml', line: 20, message: 'a template ({{ … }}): not scanned' }
    ])
  })

  it('says invalid YAML once, on its line', () => {
    expect(scanManifests('bad.yaml', 'apiVersion: v1\nkind: Pod\nspec: [\n').errors).toEqual([
      {
        file: 'bad.yaml',
        line: 4,
        message: expect.stringMatching(/^invalid YAML, document not scanned/)
      }
    ])
  })

  // Kustomize's image transformer matches an entry's `name` against the image name without
  // tag or digest; newName replaces the name, newTag the tag, digest the tag; each
  // kustomization applies its own entries to what the ones below it produced.
  it('applies Kustomize overrides as the image transformer does, innermost first', () => {
    const at = { file: 'k.yaml', line: 1, column: 1, source: '' }
    expect(applyOverrides('nginx:1.27', [[{ name: 'nginx', newTag: '1.28', ...at }]]).image).toBe(
      'nginx:1.28'
    )
    expect(
      applyOverrides('nginx', [[{ name: 'nginx', newName: 'ghcr.io/acme/nginx', ...at }]]).image
    ).toBe('ghcr.io/acme/nginx')
    expect(
      applyOverrides('localhost:5000/app:1@sha256:' + 'b'.repeat(64), [
        [{ name: 'localhost:5000/app', digest: `sha256:${'c'.repeat(64)}`, ...at }]
      ]).image
    ).toBe(`localhost:5000/app@sha256:${'c'.repeat(64)}`)
    // the overlay's entry matches the name the base's entry produced
    expect(
      applyOverrides('app:1', [
        [{ name: 'app', newName: 'acme/app', ...at }],
        [{ name: 'acme/app', newTag: '2', ...at }]
      ]).image
    ).toBe('acme/app:2')
    expect(applyOverrides('nginxx:1', [[{ name: 'nginx', newTag: '2', ...at }]]).by).toBeNull()
    // api/filters/imagetag/updater.go: newTag and digest together give both; either alone
    // replaces the tag and the digest written
    const digest = `sha256:${'d'.repeat(64)}`
    expect(
      applyOverrides('nginx:1.27@sha256:' + 'e'.repeat(64), [
        [{ name: 'nginx', newTag: '1.28', digest, ...at }]
      ]).image
    ).toBe(`nginx:1.28@${digest}`)
    expect(applyOverrides('nginx:1.27', [[{ name: 'nginx', digest, ...at }]]).image).toBe(
      `nginx@${digest}`
    )
    expect(
      applyOverrides(`nginx:1.27@${digest}`, [[{ name: 'nginx', newTag: '1.28', ...at }]]).image
    ).toBe('nginx:1.28')
  })
})

describe('Helm values', () => {
  it('reads image maps, with registry, an empty tag as the appVersion, and a digest', () => {
    const values = [
      'image:', // 1
      '  repository: acme/api', // 2
      '  tag: "2.1.0"', // 3
      'worker:', // 4
      '  image:', // 5
      '    registry: ghcr.io', // 6
      '    repository: acme/worker', // 7
      '    tag: ""', // 8
      'jobs:', // 9
      '  - image: {repository: busybox, digest: "sha256:' + 'd'.repeat(64) + '"}', // 10
      'notAnImage:', // 11
      '  image: just-a-string', // 12
      ''
    ].join('\n')
    const scanned = scanHelmValues('chart/values.yaml', values, '1.16.0')
    expect(shown(scanned.references)).toEqual([
      ['chart/values.yaml', 3, 'helm-values', 'docker.io/acme/api:2.1.0'],
      ['chart/values.yaml', 8, 'helm-values', 'ghcr.io/acme/worker:1.16.0'],
      ['chart/values.yaml', 10, 'helm-values', `docker.io/library/busybox@sha256:${'d'.repeat(64)}`]
    ])
    const [first] = scanned.references
    expect(pinLineIn(values, first, `sha256:${'e'.repeat(64)}`)).toBe(
      `tag: "2.1.0@sha256:${'e'.repeat(64)}"`
    )
  })

  // what charts render as images beyond `image.repository`: Bitnami's common.images.image
  // (global.imageRegistry over each image's registry), `*Image` maps (sysctlImage,
  // defaultImage), maps that say `image` or `name` for the repository, and plain references
  it('reads *Image maps, image/name for repository, plain references, and the global registry', () => {
    const values = [
      'global:', // 1
      '  imageRegistry: registry.acme.io', // 2
      'image:', // 3
      '  registry: docker.io', // 4
      '  repository: bitnami/postgresql', // 5
      '  tag: 16.4.0', // 6
      'volumePermissions:', // 7
      '  sysctlImage:', // 8
      '    registry: docker.io', // 9
      '    repository: bitnami/os-shell', // 10
      '    tag: 12-debian-12', // 11
      'metrics:', // 12
      '  exporterImage: { image: prometheuscommunity/postgres-exporter, tag: v0.15.0 }', // 13
      'pauseImage: registry.k8s.io/pause:3.10', // 14
      'imagePullPolicy: IfNotPresent', // 15
      'hooks:', // 16
      '  kubectlImage: "{{ .Values.global.kubectl }}"', // 17
      ''
    ].join('\n')
    const scanned = scanHelmValues('chart/values.yaml', values, '16.4.0')
    expect(shown(scanned.references)).toEqual([
      ['chart/values.yaml', 6, 'helm-values', 'registry.acme.io/bitnami/postgresql:16.4.0'],
      ['chart/values.yaml', 11, 'helm-values', 'registry.acme.io/bitnami/os-shell:12-debian-12'],
      [
        'chart/values.yaml',
        13,
        'helm-values',
        'registry.acme.io/prometheuscommunity/postgres-exporter:v0.15.0'
      ],
      ['chart/values.yaml', 14, 'helm-values-reference', 'registry.k8s.io/pause:3.10']
    ])
    const pause = scanned.references[3]
    expect(pinLineIn(values, pause, `sha256:${'e'.repeat(64)}`)).toBe(
      `pauseImage: registry.k8s.io/pause:3.10@sha256:${'e'.repeat(64)}`
    )
    // a chart's own key, named by the input helm-image-keys
    expect(
      shown(
        scanHelmValues(
          'chart/values.yaml',
          'proxyImg:\n  repository: acme/proxy\n  tag: "2"\n',
          null,
          ['proxyImg']
        ).references
      )
    ).toEqual([['chart/values.yaml', 3, 'helm-values', 'docker.io/acme/proxy:2']])
    // global.image.registry, the other convention, does the same
    expect(
      shown(
        scanHelmValues(
          'chart/values.yaml',
          'global:\n  image:\n    registry: ghcr.io\nimage:\n  repository: acme/app\n  tag: "1.0"\n',
          null
        ).references
      )
    ).toEqual([['chart/values.yaml', 6, 'helm-values', 'ghcr.io/acme/app:1.0']])
  })
})

describe('which source reads a YAML file: names first, then content', () => {
  it.each([
    ['compose.yaml', 'services:\n  a:\n    image: redis\n', 'Compose file'],
    ['deploy/stack.yml', 'services:\n  a:\n    image: redis\n', 'Compose file'],
    ['.github/workflows/ci.yml', 'on: push\njobs: {}\n', 'workflow'],
    ['deploy/app.yml', 'apiVersion: v1\nkind: Pod\n', 'Kubernetes manifest'],
    // a manifest under a Compose-like name is still a manifest: its content says so
    ['compose-k8s.yaml', 'apiVersion: v1\nkind: Pod\n', 'Kubernetes manifest'],
    ['base/kustomization.yaml', 'resources:\n  - web.yaml\n', 'kustomization'],
    [
      'overlay.yaml',
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n',
      'kustomization'
    ],
    ['chart/values.yaml', 'image:\n  repository: x\n', 'Helm values file'],
    ['build/app.docker', 'FROM alpine\n', 'Dockerfile'],
    ['mkdocs.yml', 'site_name: docs\nnav: []\n', null],
    ['.github/dependabot.yml', 'version: 2\nupdates: []\n', null],
    ['chart/Chart.yaml', 'apiVersion: v2\nname: x\nversion: 1.0.0\n', null]
  ])('%s (%j), named by the user, is read as a %s', (path, text, source) => {
    expect(sourceFor(path, text, true)?.name ?? null).toBe(source)
  })

  it('under the default patterns, content chooses only among the sources the name allows', () => {
    // any YAML file matches the manifest pattern; Compose content there is not a Compose file by name
    expect(sourceFor('deploy/stack.yml', 'services:\n  a:\n    image: redis\n')).toBeNull()
    expect(sourceFor('deploy/app.yml', 'apiVersion: v1\nkind: Pod\n')?.name).toBe(
      'Kubernetes manifest'
    )
    expect(sourceFor('notes.yml', 'FROM alpine\n')).toBeNull()
  })
})

describe('Kubernetes files in a repository', () => {
  let dir: string
  const write = (files: Record<string, string>) => {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, dirname(path)), { recursive: true })
      writeFileSync(join(dir, path), text)
    }
  }
  const scan = () =>
    discover({
      cwd: dir,
      select: { paths: ['.'] },
      buildArgs: {},
      targetPlatforms: [],
      buildPlatform: 'linux/amd64',
      variables: {},
      secrets: []
    })

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bid-k8s-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  // kustomize (api/krusty, patchesStrategicMerge and patches with a path): a patch is never a
  // resource; containers merge by name, so a container's image set by a patch replaces the
  // base's, and the overlay's images: transformer runs after the patches
  it("reads a patch as what it sets in the overlay's build: its image reported where it is set, the overlay's images applied after, never a manifest of its own", async () => {
    write({
      'base/kustomization.yaml': 'resources:\n  - web.yaml\n',
      'base/web.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: nginx:1.25\n        - name: proxy\n          image: envoyproxy/envoy:v1.30.1\n',
      'overlays/prod/kustomization.yaml':
        'resources:\n  - ../../base\npatchesStrategicMerge:\n  - app.yaml\npatches:\n  - path: limits.yaml\nimages:\n  - name: nginx\n    newName: ghcr.io/acme/nginx\n',
      // the overlay's patch: only the container it changes, by name
      'overlays/prod/app.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: nginx:1.27\n',
      'overlays/prod/limits.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: proxy\n          resources: { limits: { memory: 256Mi } }\n'
    })
    const found = await scan()
    expect(found.errors).toEqual([])
    expect(shown(found.references)).toEqual([
      // the base built on its own
      ['base/web.yaml', 10, 'kubernetes', 'docker.io/library/nginx:1.25'],
      ['base/web.yaml', 12, 'kubernetes', 'docker.io/envoyproxy/envoy:v1.30.1'],
      // the overlay: the patch's tag under the overlay's new name, placed on what changed it last
      ['overlays/prod/kustomization.yaml', 9, 'kustomize', 'ghcr.io/acme/nginx:1.27']
    ])
  })

  // kustomize's PatchTransformer (plugin/builtin/patchtransformer): `patch:` inline or `path:`;
  // a patch that parses as a list of operations is JSON 6902 and needs a `target:`; a
  // strategic-merge patch with a `target:` applies to what the target selects, whatever its
  // own name; selector names and kinds are regular expressions, anchored `^(?:…)$`
  // (api/types/selector.go); the images transformer runs after the patches
  it('applies inline and JSON 6902 patches and target selectors as kustomize does: each patched container reported where its patch sets it', async () => {
    const web = (name: string) =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: nginx:1.25\n        - name: proxy\n          image: envoyproxy/envoy:v1.30.1\n`
    const overlay = [
      'resources:', // 1
      '  - ../../base/web.yaml', // 2
      '  - ../../base/report.yaml', // 3
      'patches:', // 4
      '  - target:', // 5
      '      kind: Deployment', // 6
      '      name: web', // 7
      '    patch: |-', // 8
      '      - op: replace', // 9
      '        path: /spec/template/spec/containers/0/image', // 10
      '        value: nginx:1.27', // 11
      '  - target: {kind: Deployment, name: "web-.*"}', // 12
      '    patch: |-', // 13
      '      apiVersion: apps/v1', // 14
      '      kind: Deployment', // 15
      '      metadata:', // 16
      '        name: not-important', // 17
      '      spec:', // 18
      '        template:', // 19
      '          spec:', // 20
      '            containers:', // 21
      '              - name: proxy', // 22
      '                image: envoyproxy/envoy:v1.31.0', // 23
      '              - name: log', // 24
      '                image: fluent/fluent-bit:3.1', // 25
      'patchesJson6902:', // 26
      '  - target: {group: batch, version: v1, kind: CronJob, name: report}', // 27
      '    path: report-image.json', // 28
      'images:', // 29
      '  - name: envoyproxy/envoy', // 30
      '    newName: ghcr.io/acme/envoy', // 31
      ''
    ].join('\n')
    write({
      'base/web.yaml': `${web('web')}---\n${web('web-canary')}`,
      'base/report.yaml':
        'apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: report\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n            - name: report\n              image: busybox:1.36\n',
      'overlays/prod/kustomization.yaml': overlay,
      'overlays/prod/report-image.json':
        '[\n  {\n    "op": "replace",\n    "path": "/spec/jobTemplate/spec/template/spec/containers/0/image",\n    "value": "ghcr.io/acme/report:2.0"\n  }\n]\n'
    })
    const found = await scan()
    expect(found.errors).toEqual([])
    expect(
      found.references.map(r => [
        r.file,
        r.line,
        r.column,
        r.kind,
        r.image ? formatReference(r.image) : r.error
      ])
    ).toEqual([
      // web's app (line 10) is its JSON patch's and web-canary's proxy its strategic-merge
      // patch's: web-canary's app is what the base writes
      ['base/web.yaml', 23, 18, 'kubernetes', 'docker.io/library/nginx:1.25'],
      // the inline JSON patch's value, at its place in the kustomization
      [
        'overlays/prod/kustomization.yaml',
        11,
        16,
        'kustomize-json-patch',
        'docker.io/library/nginx:1.27'
      ],
      // a container the inline strategic-merge patch adds
      ['overlays/prod/kustomization.yaml', 25, 24, 'kubernetes', 'docker.io/fluent/fluent-bit:3.1'],
      // web's envoy (`web-.*` does not select web) and the patch's, renamed by the images: after
      ['overlays/prod/kustomization.yaml', 31, 14, 'kustomize', 'ghcr.io/acme/envoy:v1.31.0'],
      ['overlays/prod/kustomization.yaml', 31, 14, 'kustomize', 'ghcr.io/acme/envoy:v1.30.1'],
      // the JSON patch file replaces the CronJob's only container: busybox:1.36 is pulled by no build
      ['overlays/prod/report-image.json', 5, 14, 'kustomize-json-patch', 'ghcr.io/acme/report:2.0']
    ])
    const value = found.references.find(r => r.kind === 'kustomize-json-patch')!
    expect(pinLineIn(overlay, value, `sha256:${'a'.repeat(64)}`)).toBe(
      `value: nginx:1.27@sha256:${'a'.repeat(64)}`
    )
  })

  it('reads a selector pattern in linear time, and one it cannot read as selecting every name', () => {
    const names = 'web-' + 'a'.repeat(5000)
    const patched = [{ kind: 'Deployment', name: '.*a.*a.*a.*a.*a.*a.*a.*b', container: 'app' }]
    const at = { kind: 'Deployment', name: names, container: 'app', list: 'containers', index: 0 }
    // a backtracking match of this pattern takes longer than the test may run
    expect(isPatched(patched, at)).toBe(false)
    expect(isPatched([{ ...patched[0], name: 'web|api' }], { ...at, name: 'api' })).toBe(true)
    expect(isPatched([{ ...patched[0], name: 'web|api' }], { ...at, name: 'web-1' })).toBe(false)
    expect(isPatched([{ ...patched[0], name: '(web|api)-[0-9]+' }], { ...at, name: 'x' })).toBe(
      true
    )
    expect(isPatched([{ ...patched[0], name: 'w.b' }], { ...at, name: 'wxb' })).toBe(true)
    expect(isPatched([{ ...patched[0], name: 'w\\.b' }], { ...at, name: 'wxb' })).toBe(false)
  })

  it('reads a manifest listed by a kustomization only as it builds it, overlays on top of the base', async () => {
    write({
      'k8s/base/kustomization.yaml':
        'resources:\n  - web.yaml\nimages:\n  - name: nginx\n    newTag: "1.27"\n',
      'k8s/base/web.yaml': DEPLOYMENT,
      'k8s/overlays/prod/kustomization.yaml':
        'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\n  - https://github.com/acme/shared//deploy?ref=v1\nimages:\n  - name: nginx\n    newName: ghcr.io/acme/nginx\n    newTag: "1.27-hardened"\n'
    })
    const found = await scan()
    expect(found.errors).toEqual([])
    expect(shown(found.references)).toEqual([
      // the base's own build: its override, then the images it leaves alone
      ['k8s/base/kustomization.yaml', 5, 'kustomize', 'docker.io/library/nginx:1.27'],
      ['k8s/base/web.yaml', 10, 'kubernetes', 'ghcr.io/acme/migrate:1.4'],
      ['k8s/base/web.yaml', 15, 'kubernetes', 'docker.io/library/busybox:1.36'],
      // the overlay's build: its entry wins, placed where it is written
      ['k8s/overlays/prod/kustomization.yaml', 9, 'kustomize', 'ghcr.io/acme/nginx:1.27-hardened']
    ])
    // nginx:1.27 as web.yaml writes it is pulled by no build: not a reference of its own
    expect(found.references.some(r => r.file === 'k8s/base/web.yaml' && r.line === 13)).toBe(false)
    expect(found.notices).toEqual([
      {
        file: 'k8s/overlays/prod/kustomization.yaml',
        line: 5,
        message: 'https://github.com/acme/shared//deploy?ref=v1: a remote resource, not scanned'
      }
    ])
    const [override] = found.references
    expect(
      pinLineIn(
        'resources:\n  - web.yaml\nimages:\n  - name: nginx\n    newTag: "1.27"\n',
        override,
        'sha256:' + 'f'.repeat(64)
      )
    ).toBe(`newTag: "1.27"\ndigest: sha256:${'f'.repeat(64)}`)
  })

  it('reads a chart: values beside Chart.yaml, templates as a notice; values elsewhere are not Helm', async () => {
    write({
      'chart/Chart.yaml': 'apiVersion: v2\nname: api\nversion: 0.1.0\nappVersion: "3.2.1"\n',
      'chart/values.yaml': 'image:\n  repository: ghcr.io/acme/api\n  tag: ""\n',
      'chart/templates/deployment.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"\n',
      'config/values.yaml': 'image:\n  repository: not-a-chart\n',
      'compose.yaml': 'services:\n  db:\n    image: postgres:16\n',
      'mkdocs.yml': 'site_name: x\n'
    })
    const found = await scan()
    expect(found.errors).toEqual([])
    expect(shown(found.references)).toEqual([
      ['chart/values.yaml', 3, 'helm-values', 'ghcr.io/acme/api:3.2.1'],
      ['compose.yaml', 3, 'compose', 'docker.io/library/postgres:16']
    ])
    expect(found.notices.map(n => [n.file, n.message])).toEqual([
      ['chart/templates/deployment.yaml', 'a template ({{ … }}): not scanned']
    ])
    // a YAML file that is none of the kinds read here is passed over without a word
    expect(found.files).not.toContain('mkdocs.yml')
  })

  it('says a kustomization that lists a missing file, naming the file and line', async () => {
    write({ 'kustomization.yaml': 'resources:\n  - missing.yaml\n' })
    expect((await scan()).errors).toEqual([
      {
        file: 'kustomization.yaml',
        line: 2,
        message: 'kustomization kustomization.yaml builds missing.yaml, which does not exist'
      }
    ])
  })
})
