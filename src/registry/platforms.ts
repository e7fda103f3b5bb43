/** Platforms of multi-platform images: parsing index entries and matching tracked platforms. Pure. */

export interface IndexEntry {
  digest: string
  platform: string
}

const ARCH_ALIASES: Record<string, string> = {
  aarch64: 'arm64',
  x86_64: 'amd64',
  'x86-64': 'amd64'
}

/** `linux/arm64/v8` → `linux/arm64`; `linux/aarch64` → `linux/arm64`; others as they are. */
export function normalizePlatform(platform: string): string {
  const [os = '', rawArch = '', variant = ''] = platform.toLowerCase().split('/')
  const arch = ARCH_ALIASES[rawArch] ?? rawArch
  const keepVariant = variant !== '' && !(arch === 'arm64' && variant === 'v8')
  return keepVariant ? `${os}/${arch}/${variant}` : `${os}/${arch}`
}

/** The entries of an OCI index or Docker manifest list, attestations (`unknown/unknown`) left out; null when not an index. */
export function indexEntries(bytes: Buffer): IndexEntry[] | null {
  let document: {
    manifests?: {
      digest?: string
      platform?: { os?: string; architecture?: string; variant?: string }
    }[]
  }
  try {
    document = JSON.parse(bytes.toString('utf8'))
  } catch {
    return null
  }
  if (!Array.isArray(document.manifests)) return null
  const entries: IndexEntry[] = []
  for (const manifest of document.manifests) {
    const p = manifest.platform
    if (!manifest.digest || !p?.os || !p.architecture) continue
    if (p.os === 'unknown' && p.architecture === 'unknown') continue
    entries.push({
      digest: manifest.digest,
      platform: normalizePlatform([p.os, p.architecture, p.variant ?? ''].join('/'))
    })
  }
  return entries
}

/** Tracked platform → digest, for the tracked platforms the index has (first entry wins). */
export function trackedDigests(entries: IndexEntry[], tracked: string[]): Record<string, string> {
  const digests: Record<string, string> = {}
  for (const platform of tracked) {
    const entry = entries.find(e => e.platform === normalizePlatform(platform))
    if (entry) digests[normalizePlatform(platform)] = entry.digest
  }
  return digests
}
