/**
 * Registry hosts: where a registry is spoken to (Docker Hub's API host, plain HTTP for loopback and
 * insecure-registries).
 */
import { DOCKER_HUB } from '../reference/reference.js'

/** Docker Hub's registry API lives on another host than its name. */
const DOCKER_HUB_API = 'registry-1.docker.io'
const DOCKER_HUB_ALIASES = new Set([
  DOCKER_HUB,
  'index.docker.io',
  DOCKER_HUB_API,
  'registry.hub.docker.com'
])

/** The registry name a credential key, config entry or host refers to (`docker.io` for Hub's aliases). */
export function canonicalRegistry(key: string): string {
  const host = key
    .trim()
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase()
  return DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB : host
}

function isLoopback(registry: string): boolean {
  const host = registry.startsWith('[')
    ? registry.slice(0, registry.indexOf(']') + 1)
    : registry.split(':')[0]
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/** `https://registry-1.docker.io`, `http://127.0.0.1:5000`: where a registry's API is. */
export function registryBaseUrl(registry: string, insecure: readonly string[]): string {
  const host = registry === DOCKER_HUB ? DOCKER_HUB_API : registry
  const plain = isLoopback(registry) || insecure.some(h => canonicalRegistry(h) === registry)
  return `${plain ? 'http' : 'https'}://${host}`
}
