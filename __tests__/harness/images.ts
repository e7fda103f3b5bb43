import { createHash, randomBytes } from 'node:crypto'
import { PUSHER, type TestRegistry } from './registry.js'

export const MEDIA = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip'
} as const

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  platform?: { os: string; architecture: string; variant?: string }
  annotations?: Record<string, string>
}

/** What a synthetic image's config says. */
export interface ImageSpec {
  os?: string
  architecture?: string
  variant?: string
  env?: string[]
  labels?: Record<string, string>
  /** `created_by` of each history entry, oldest first. */
  history?: string[]
  created?: string
  /** Layer contents; each becomes a blob. One random layer when absent. */
  layers?: (string | Buffer)[]
  /** The layers' media type (default: an OCI gzip layer) and annotations (an attestation's). */
  layerMediaType?: string
  layerAnnotations?: Record<string, string>
  annotations?: Record<string, string>
  /** Rewrites the config before it is pushed: a registry that serves configs of any shape. */
  rawConfig?: (config: Record<string, unknown>) => unknown
}

/**
 * A BuildKit SBOM attestation: an in-toto statement with an SPDX document listing these
 * Debian packages (`[name, version]`), as the `attestations` of `pushIndex` take it.
 */
export function spdxAttestation(packages: [string, string][]): ImageSpec {
  return {
    layerMediaType: 'application/vnd.in-toto+json',
    layerAnnotations: { 'in-toto.io/predicate-type': 'https://spdx.dev/Document' },
    layers: [
      JSON.stringify({
        _type: 'https://in-toto.io/Statement/v0.1',
        predicateType: 'https://spdx.dev/Document',
        predicate: {
          spdxVersion: 'SPDX-2.3',
          packages: packages.map(([name, version]) => ({
            name,
            versionInfo: version,
            externalRefs: [
              { referenceType: 'purl', referenceLocator: `pkg:deb/debian/${name}@${version}` }
            ]
          }))
        }
      })
    ]
  }
}

export interface PushedImage {
  digest: string
  configDigest: string
  size: number
  mediaType: string
}

export interface PushedIndex {
  digest: string
  /** platform string (`linux/arm64/v8`, `unknown/unknown`) → manifest digest */
  manifests: Record<string, string>
}

export type Flavour = 'oci' | 'docker'

export function sha256(bytes: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex')
}

/**
 * Pushes synthetic images to a TestRegistry through the distribution HTTP API, authenticating
 * as PUSHER the way a docker client would (Basic, or a Bearer token with push scope).
 */
export class ImagePusher {
  private tokens = new Map<string, string>()

  constructor(private readonly registry: TestRegistry) {}

  async pushBlob(repo: string, bytes: Buffer | string): Promise<{ digest: string; size: number }> {
    const body = Buffer.from(bytes)
    const digest = sha256(body)
    const start = await this.request(repo, 'POST', `/v2/${repo}/blobs/uploads/`, {})
    await expectStatus(start, 202, 'start upload')
    const location = new URL(start.headers.get('location')!, this.registry.url)
    location.searchParams.set('digest', digest)
    const put = await this.request(repo, 'PUT', location.pathname + location.search, {
      body,
      headers: { 'Content-Type': 'application/octet-stream' }
    })
    await expectStatus(put, 201, `upload ${digest}`)
    return { digest, size: body.length }
  }

  /** Pushes one image (config, layers, manifest); tags it when `tag` is given. */
  async pushImage(
    repo: string,
    spec: ImageSpec,
    options: { tag?: string; flavour?: Flavour } = {}
  ): Promise<PushedImage> {
    const oci = (options.flavour ?? 'oci') === 'oci'
    const config = {
      created: spec.created ?? new Date().toISOString(),
      architecture: spec.architecture ?? 'amd64',
      os: spec.os ?? 'linux',
      ...(spec.variant ? { variant: spec.variant } : {}),
      config: {
        Env: spec.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        Labels: spec.labels ?? {}
      },
      rootfs: { type: 'layers', diff_ids: [] as string[] },
      history: (spec.history ?? ['/bin/sh -c #(nop) ADD file:synthetic in / ']).map(created_by => ({
        created: spec.created,
        created_by
      }))
    }
    const layerContents = spec.layers ?? [randomBytes(64)]
    const layers: Descriptor[] = []
    for (const content of layerContents) {
      const blob = await this.pushBlob(repo, content)
      config.rootfs.diff_ids.push(blob.digest)
      layers.push({
        mediaType: spec.layerMediaType ?? (oci ? MEDIA.ociLayer : MEDIA.dockerLayer),
        ...blob,
        ...(spec.layerAnnotations ? { annotations: spec.layerAnnotations } : {})
      })
    }
    const configBlob = await this.pushBlob(
      repo,
      JSON.stringify(spec.rawConfig ? spec.rawConfig(config) : config)
    )
    const mediaType = oci ? MEDIA.ociManifest : MEDIA.dockerManifest
    const manifest = {
      schemaVersion: 2,
      mediaType,
      config: { mediaType: oci ? MEDIA.ociConfig : MEDIA.dockerConfig, ...configBlob },
      layers,
      ...(spec.annotations ? { annotations: spec.annotations } : {})
    }
    const body = Buffer.from(JSON.stringify(manifest))
    const digest = await this.putManifest(repo, options.tag ?? sha256(body), body, mediaType)
    return { digest, configDigest: configBlob.digest, size: body.length, mediaType }
  }

  /**
   * Pushes a multi-platform index of one image per platform (`linux/arm64/v8`), plus one
   * `unknown/unknown` attestation manifest per image when `attestations` is set.
   */
  async pushIndex(
    repo: string,
    tag: string,
    images: Record<string, ImageSpec>,
    options: {
      flavour?: Flavour
      /** An attestation manifest per image; a function gives its spec (an SBOM), given the platform. */
      attestations?: boolean | ((platform: string) => ImageSpec)
    } = {}
  ): Promise<PushedIndex> {
    const oci = (options.flavour ?? 'oci') === 'oci'
    const descriptors: Descriptor[] = []
    const manifests: Record<string, string> = {}
    for (const [platformText, spec] of Object.entries(images)) {
      const [os, architecture, variant] = platformText.split('/')
      const image = await this.pushImage(
        repo,
        { ...spec, os, architecture, variant },
        { flavour: options.flavour }
      )
      manifests[platformText] = image.digest
      descriptors.push({
        mediaType: image.mediaType,
        digest: image.digest,
        size: image.size,
        platform: { os, architecture, ...(variant ? { variant } : {}) }
      })
      if (options.attestations) {
        const attestation = await this.pushImage(repo, {
          layers: [`{"predicate":"${image.digest}"}`],
          ...(typeof options.attestations === 'function' ? options.attestations(platformText) : {}),
          os: 'unknown',
          architecture: 'unknown'
        })
        manifests[`unknown/unknown@${platformText}`] = attestation.digest
        descriptors.push({
          mediaType: attestation.mediaType,
          digest: attestation.digest,
          size: attestation.size,
          platform: { os: 'unknown', architecture: 'unknown' },
          annotations: {
            'vnd.docker.reference.digest': image.digest,
            'vnd.docker.reference.type': 'attestation-manifest'
          }
        })
      }
    }
    const mediaType = oci ? MEDIA.ociIndex : MEDIA.dockerList
    const body = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType, manifests: descriptors })
    )
    const digest = await this.putManifest(repo, tag, body, mediaType)
    return { digest, manifests }
  }

  /** Points `tag` at an existing manifest: the upstream moving a tag. */
  async tag(repo: string, tag: string, digest: string): Promise<void> {
    const res = await this.request(repo, 'GET', `/v2/${repo}/manifests/${digest}`, {
      headers: { Accept: Object.values(MEDIA).join(', ') }
    })
    await expectStatus(res, 200, `get ${digest}`)
    const body = Buffer.from(await res.arrayBuffer())
    await this.putManifest(repo, tag, body, res.headers.get('content-type')!)
  }

  /** Removes a tag by deleting the manifest it points at (distribution 2.x untags it). */
  async deleteTag(repo: string, tag: string): Promise<void> {
    const head = await this.request(repo, 'HEAD', `/v2/${repo}/manifests/${tag}`, {
      headers: { Accept: Object.values(MEDIA).join(', ') }
    })
    await expectStatus(head, 200, `head ${tag}`)
    const digest = head.headers.get('docker-content-digest')!
    const res = await this.request(repo, 'DELETE', `/v2/${repo}/manifests/${digest}`, {})
    await expectStatus(res, 202, `delete ${digest}`)
  }

  private async putManifest(
    repo: string,
    reference: string,
    body: Buffer,
    mediaType: string
  ): Promise<string> {
    const res = await this.request(repo, 'PUT', `/v2/${repo}/manifests/${reference}`, {
      body,
      headers: { 'Content-Type': mediaType }
    })
    await expectStatus(res, 201, `put manifest ${repo}:${reference}`)
    return res.headers.get('docker-content-digest') ?? sha256(body)
  }

  private async request(
    repo: string,
    method: string,
    path: string,
    init: { body?: Buffer; headers?: Record<string, string> }
  ): Promise<Response> {
    const send = (authorization?: string) =>
      fetch(this.registry.url + path, {
        method,
        body: init.body ? new Uint8Array(init.body) : undefined,
        headers: { ...init.headers, ...(authorization ? { Authorization: authorization } : {}) },
        redirect: 'manual'
      })
    const basic = 'Basic ' + Buffer.from(`${PUSHER.username}:${PUSHER.password}`).toString('base64')
    if (this.registry.mode === 'anonymous') return send()
    if (this.registry.mode === 'basic') return send(basic)
    const cached = this.tokens.get(repo)
    const first = await send(cached && `Bearer ${cached}`)
    if (first.status !== 401) return first
    await first.arrayBuffer()
    const challenge = first.headers.get('www-authenticate') ?? ''
    const param = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(challenge)?.[1] ?? ''
    const tokenUrl = new URL(param('realm'))
    tokenUrl.searchParams.set('service', param('service'))
    tokenUrl.searchParams.set('scope', `repository:${repo}:pull,push,delete`)
    const tokenRes = await fetch(tokenUrl, { headers: { Authorization: basic } })
    await expectStatus(tokenRes, 200, 'push token')
    const body = (await tokenRes.json()) as { token?: string; access_token?: string }
    const token = body.token ?? body.access_token ?? ''
    this.tokens.set(repo, token)
    return send(`Bearer ${token}`)
  }
}

async function expectStatus(res: Response, status: number, what: string): Promise<void> {
  if (res.status !== status) {
    throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`)
  }
  if (res.body && status !== 200) await res.arrayBuffer()
}
