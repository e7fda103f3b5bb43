/**
 * Image reference grammar and normalization, after distribution/reference: parse a reference
 * as written (`python:3.12-slim`), normalize it (`docker.io/library/python:3.12-slim`), print it.
 */
import { digestProblem } from './digest.js'

export interface ImageReference {
  /** Registry host, with port when given: `docker.io`, `ghcr.io`, `localhost:5000`. */
  registry: string
  /** Repository path inside the registry: `library/python`. */
  repository: string
  /** Tag; `latest` when neither tag nor digest was written. */
  tag?: string
  /** `algorithm:hex`, when the reference is pinned. */
  digest?: string
}

/** The typed error for a reference that does not follow the grammar. */
export class InvalidReferenceError extends Error {
  constructor(
    readonly input: string,
    readonly reason: string
  ) {
    super(`invalid image reference "${input}": ${reason}`)
    this.name = 'InvalidReferenceError'
  }
}

export const DOCKER_HUB = 'docker.io'
const NAME_TOTAL_MAX = 255

const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/
const PORT = /^[0-9]+$/
const IPV6 = /^\[[a-fA-F0-9:.]+(?:%[a-zA-Z0-9]+)?\]$/
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const TAG = /^[\w][\w.-]{0,127}$/
const ANONYMOUS_ID = /^[a-f0-9]{64}$/

/** Parses and normalizes a reference; throws InvalidReferenceError when it is not valid. */
export function parseReference(input: string): ImageReference {
  const fail = (reason: string): never => {
    throw new InvalidReferenceError(input, reason)
  }
  if (input === '') fail('it is empty')
  if (input !== input.trim() || /\s/.test(input)) fail('it contains white space')

  let rest = input
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    checkDigest(digest, fail)
  }

  let tag: string | undefined
  const lastSlash = rest.lastIndexOf('/')
  const colon = rest.lastIndexOf(':')
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) fail(`tag "${tag}" must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`)
  }
  if (rest === '') fail('the repository name is empty')

  let registry = DOCKER_HUB
  let repository = rest
  const slash = rest.indexOf('/')
  if (slash >= 0) {
    const first = rest.slice(0, slash)
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      registry = first
      repository = rest.slice(slash + 1)
      checkDomain(registry, fail)
    }
  }
  if (registry === 'index.docker.io') registry = DOCKER_HUB
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`

  if (registry === DOCKER_HUB && ANONYMOUS_ID.test(rest)) {
    fail('a 64-character hexadecimal string is an image ID, not a name')
  }
  for (const component of repository.split('/')) {
    if (PATH_COMPONENT.test(component)) continue
    if (PATH_COMPONENT.test(component.toLowerCase())) fail('repository name must be lowercase')
    fail(
      `path component "${component}" must be lowercase letters, digits and separators (., _, __, -)`
    )
  }
  if (registry.length + 1 + repository.length > NAME_TOTAL_MAX) {
    fail(`the name is longer than ${NAME_TOTAL_MAX} characters`)
  }

  const reference: ImageReference = { registry, repository }
  if (tag !== undefined) reference.tag = tag
  else if (digest === undefined) reference.tag = 'latest'
  if (digest !== undefined) reference.digest = digest
  return reference
}

/** `registry/repository[:tag][@digest]` */
export function formatReference(reference: ImageReference): string {
  let text = `${reference.registry}/${reference.repository}`
  if (reference.tag !== undefined) text += `:${reference.tag}`
  if (reference.digest !== undefined) text += `@${reference.digest}`
  return text
}

/** The reference without its digest: what is resolved to find where the tag points now. */
export function tagOf(reference: ImageReference): ImageReference | null {
  if (reference.tag === undefined) return null
  return { registry: reference.registry, repository: reference.repository, tag: reference.tag }
}

function checkDigest(digest: string, fail: (reason: string) => never): void {
  const problem = digestProblem(digest)
  if (problem) fail(problem)
}

function checkDomain(domain: string, fail: (reason: string) => never): void {
  let host = domain
  const portAt = domain.startsWith('[') ? domain.indexOf(']:') + 1 : domain.lastIndexOf(':')
  if (portAt > 0) {
    const port = domain.slice(portAt + 1)
    if (!PORT.test(port)) fail(`registry port "${port}" must be a number`)
    host = domain.slice(0, portAt)
  }
  if (host.startsWith('[')) {
    if (!IPV6.test(host)) fail(`registry host "${host}" is not a valid IPv6 address`)
    return
  }
  if (host === '' || !host.split('.').every(part => DOMAIN_COMPONENT.test(part))) {
    fail(`registry host "${host}" is not a valid host name`)
  }
}
