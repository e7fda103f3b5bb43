/** Platform strings (`os/arch[/variant]`), as images and build flags write them. Pure. */

/** The platform a reference is tracked for when nothing else says: what hosted runners run. */
export const DEFAULT_PLATFORM = 'linux/amd64'

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

/** The normalized platform of an image config or index entry's `platform` object. */
export function platformOf(p: { os?: string; architecture?: string; variant?: string }): string {
  return normalizePlatform([p.os ?? '', p.architecture ?? '', p.variant ?? ''].join('/'))
}

/** The platform a runner builds for: `RUNNER_ARCH` on GitHub's runners, else Node's `process.arch`. */
export function hostPlatform(runnerArch: string | undefined, nodeArch: string): string {
  const arch: Record<string, string> = {
    X64: 'amd64',
    ARM64: 'arm64',
    ARM: 'arm/v7',
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm/v7'
  }
  return `linux/${arch[runnerArch ?? ''] ?? arch[nodeArch] ?? 'amd64'}`
}
