/**
 * The packages inside an image, from its package database or its SBOM, and what changed
 * between two images. Pure: the reading is in layers.ts and sbom.ts, the words in report/.
 */
import { isRecord } from '../json.js'

export interface Package {
  name: string
  version: string
  /** The purl type: `deb`, `apk`, `rpm`, `pypi`… */
  type: string
}

/** An image's packages and where they were read from. */

export interface VersionChange {
  name: string
  type: string
  before: string
  after: string
  /** The leading version number changed (2.x → 3.x). */
  major: boolean
}

export interface PackageDiff {
  /** Most important first: shared libraries, then the others. */
  removed: Package[]
  added: Package[]
  /** Major version changes first. */
  changed: VersionChange[]
}

/** `etc/os-release`: what the image says it is. */
export interface OsRelease {
  prettyName: string | null
  id: string | null
  versionId: string | null
  versionCodename: string | null
}

/** Paragraphs of `KEY: value` lines (dpkg and apk both separate records by blank lines). */
function records(text: string): string[][] {
  const result: string[][] = []
  let current: string[] = []
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (current.length > 0) result.push(current)
      current = []
    } else current.push(line)
  }
  if (current.length > 0) result.push(current)
  return result
}

/** `var/lib/dpkg/status` (or one file of distroless `status.d/`): installed packages. */
export function parseDpkgStatus(text: string): Package[] {
  const packages: Package[] = []
  for (const record of records(text)) {
    const field = (name: string) => {
      const line = record.find(l => l.startsWith(`${name}:`))
      return line === undefined ? undefined : line.slice(name.length + 1).trim()
    }
    const name = field('Package')
    const version = field('Version')
    const status = field('Status')
    // status.d entries of distroless carry no Status: they are installed
    if (name && version && (status === undefined || status.endsWith(' installed')))
      packages.push({ name, version, type: 'deb' })
  }
  return packages
}

/** `lib/apk/db/installed`: `P:` name and `V:` version per record. */
export function parseApkInstalled(text: string): Package[] {
  const packages: Package[] = []
  for (const record of records(text)) {
    const name = record.find(l => l.startsWith('P:'))?.slice(2)
    const version = record.find(l => l.startsWith('V:'))?.slice(2)
    if (name && version) packages.push({ name, version, type: 'apk' })
  }
  return packages
}

export function parseOsRelease(text: string): OsRelease {
  const values: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=')
    if (eq <= 0) continue
    values[line.slice(0, eq).trim()] = line
      .slice(eq + 1)
      .trim()
      .replace(/^(["'])(.*)\1$/, '$2')
  }
  const codename =
    values.VERSION_CODENAME ??
    // older Debian releases say it only in VERSION="11 (bullseye)"
    /\(([a-z]+)\)/.exec(values.VERSION ?? '')?.[1] ??
    null
  return {
    prettyName: values.PRETTY_NAME ?? null,
    id: values.ID ?? null,
    versionId: values.VERSION_ID ?? null,
    versionCodename: codename
  }
}

/** `pkg:deb/debian/libssl1.1@1.1.1w-0+deb11u1?arch=amd64` → its type. */
function purlType(purl: string | undefined): string | null {
  const match = /^pkg:([a-z0-9.+-]+)\//i.exec(purl ?? '')
  return match ? match[1].toLowerCase() : null
}

/**
 * The packages of an SPDX 2.x or CycloneDX JSON document, with their purl type; null when
 * the document is neither.
 */
export function parseSbom(document: unknown): Package[] | null {
  if (!isRecord(document)) return null
  const doc = document
  const packages: Package[] = []
  if (Array.isArray(doc.packages) && typeof doc.spdxVersion === 'string') {
    for (const entry of doc.packages.filter(isRecord)) {
      const refs = Array.isArray(entry.externalRefs) ? entry.externalRefs.filter(isRecord) : []
      const purl = refs.find(r => r.referenceType === 'purl')?.referenceLocator
      const type = purlType(typeof purl === 'string' ? purl : undefined)
      if (type && typeof entry.name === 'string' && typeof entry.versionInfo === 'string')
        packages.push({ name: entry.name, version: entry.versionInfo, type })
    }
    return packages
  }
  if (doc.bomFormat === 'CycloneDX' && Array.isArray(doc.components)) {
    for (const entry of doc.components.filter(isRecord)) {
      const type = purlType(typeof entry.purl === 'string' ? entry.purl : undefined)
      if (type && typeof entry.name === 'string' && typeof entry.version === 'string')
        packages.push({ name: entry.name, version: entry.version, type })
    }
    return packages
  }
  return null
}

/** Debian `1:2.36-9+deb12u4` → `2`; Alpine `3.1.4-r5` → `3`. */
function leadingNumber(version: string): string {
  return /^(?:\d+:)?(\d+)/.exec(version)?.[1] ?? version
}

/** Longer than any real package name (Debian allows far fewer characters in practice). */
const MAX_PACKAGE_NAME = 256

/** A shared library package: `libssl1.1`, `libc6`, not `libc-bin` or `libssl-dev`. */
export function isSharedLibrary(name: string): boolean {
  return (
    name.length <= MAX_PACKAGE_NAME &&
    /^lib.*\d/.test(name) &&
    !/-(dev|bin|doc|common|data|utils)$/.test(name)
  )
}

/**
 * The shared object a library package installs, by Debian's naming policy:
 * `libssl1.1` → `libssl.so.1.1`, `libc6` → `libc.so.6`; null when the name does not say.
 */
export function sharedObject(name: string): string | null {
  // the lazy pattern costs the square of its input: a package name from a registry is bounded first
  if (name.length > MAX_PACKAGE_NAME) return null
  const match = /^lib(.+?)-?(\d[\d.]*)(?:t64)?$/.exec(name)
  return match ? `lib${match[1]}.so.${match[2]}` : null
}

/** Removed, added and changed packages between two images, most important first. */
export function diffPackages(before: Package[], after: Package[]): PackageDiff {
  const key = (p: Package) => `${p.type}/${p.name}`
  const index = (list: Package[]) => {
    const map = new Map<string, Package>()
    for (const p of list) if (!map.has(key(p))) map.set(key(p), p)
    return map
  }
  const old = index(before)
  const now = index(after)
  const byName = (a: { name: string }, b: { name: string }) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0
  const removed = [...old.values()]
    .filter(p => !now.has(key(p)))
    .sort(
      (a, b) => Number(isSharedLibrary(b.name)) - Number(isSharedLibrary(a.name)) || byName(a, b)
    )
  const added = [...now.values()].filter(p => !old.has(key(p))).sort(byName)
  const changed: VersionChange[] = []
  for (const [k, p] of old) {
    const next = now.get(k)
    if (next && next.version !== p.version)
      changed.push({
        name: p.name,
        type: p.type,
        before: p.version,
        after: next.version,
        major: leadingNumber(p.version) !== leadingNumber(next.version)
      })
  }
  changed.sort((a, b) => Number(b.major) - Number(a.major) || byName(a, b))
  return { removed, added, changed }
}
