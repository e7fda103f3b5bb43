/**
 * Registry mirrors, in the spirit of Docker's `registry-mirrors` and containerd's
 * `hosts.toml`: a pull-through cache that serves an upstream registry's repositories
 * (a corporate Artifactory or Harbor proxy of Docker Hub, `mirror.gcr.io`). A reference
 * stays keyed by its upstream name, so switching mirrors is no drift; only where its
 * requests go changes. Pure.
 */
import type { ImageReference } from '../reference/reference.js'
import { canonicalRegistry } from './hosts.js'

/** Upstream registry (canonical) → the mirror's URL: `https://harbor.example.com/dockerhub-proxy`. */
export type Mirrors = Readonly<Record<string, string>>

export interface Mirror {
  /** The mirror's host, as references name registries. */
  host: string
  /** A path the mirror serves the upstream's repositories under (Harbor's proxy project), or ''. */
  prefix: string
  /** Spoken to over plain HTTP. */
  insecure: boolean
}

/** `UPSTREAM=URL` entries: the mirror of each upstream registry, or why an entry is not one. */
export function parseMirrors(
  entries: readonly string[]
): Record<string, string> | { error: string } {
  const mirrors: Record<string, string> = {}
  for (const entry of entries) {
    const eq = entry.indexOf('=')
    const upstream = eq > 0 ? canonicalRegistry(entry.slice(0, eq)) : ''
    const url = entry.slice(eq + 1).trim()
    let parsed: URL | null
    try {
      parsed = new URL(url)
    } catch {
      parsed = null
    }
    if (
      !upstream ||
      !parsed ||
      !['http:', 'https:'].includes(parsed.protocol) ||
      parsed.search ||
      parsed.hash ||
      parsed.username
    )
      return {
        error: `"${entry}" is not UPSTREAM=URL (e.g. docker.io=https://mirror.example.com), with an http or https URL and no query or credentials`
      }
    mirrors[upstream] = url
  }
  return mirrors
}

/** Where a reference's requests go through its registry's mirror; null when it has none. */
export function mirrorOf(
  reference: ImageReference,
  mirrors: Mirrors
): { reference: ImageReference; mirror: Mirror } | null {
  const url = mirrors[reference.registry]
  if (url === undefined) return null
  const parsed = new URL(url)
  const prefix = parsed.pathname.replace(/^\/+|\/+$/g, '')
  const mirror = { host: parsed.host, prefix, insecure: parsed.protocol === 'http:' }
  return {
    mirror,
    reference: {
      ...reference,
      registry: mirror.host,
      repository: prefix ? `${prefix}/${reference.repository}` : reference.repository
    }
  }
}
