/** Platform strings (`os/arch[/variant]`), as images and build flags write them. Pure. */

/** The platform a reference is tracked for when nothing else says: what hosted runners run. */
export const DEFAULT_PLATFORM = 'linux/amd64'

/** A platform string that containerd's `platforms.Parse` would refuse. */
export class PlatformError extends Error {
  constructor(specifier: string, why: string) {
    super(
      `"${specifier}" is not a platform: ${why}; use os/arch[/variant] (e.g. linux/arm64), an OS or an architecture alone (linux, arm64)`
    )
    this.name = 'PlatformError'
  }
}

// Go's lists of operating systems and architectures, which containerd knows a lone word by.
const KNOWN_OS = new Set(
  'aix android darwin dragonfly freebsd hurd illumos ios js linux nacl netbsd openbsd plan9 solaris windows zos'.split(
    ' '
  )
)
const KNOWN_ARCH = new Set(
  '386 amd64 amd64p32 arm armbe arm64 arm64be ppc64 ppc64le loong64 mips mipsle mips64 mips64le mips64p32 mips64p32le ppc riscv riscv64 s390 s390x sparc sparc64 wasm'.split(
    ' '
  )
)
const OS_PART = /^([A-Za-z0-9_-]+)(?:\([A-Za-z0-9_.%-]*(?:\+[A-Za-z0-9_.%-]+)*\))?$/
const PART = /^[A-Za-z0-9_.-]+$/

function normalizeOs(os: string): string {
  const lower = os.toLowerCase()
  return lower === 'macos' ? 'darwin' : lower
}

/** containerd's aliases: x86_64 → amd64, aarch64 → arm64 (v8 implied), armhf → arm/v7, armel → arm/v6, i386 → 386, arm → arm/v7. */
function normalizeArch(rawArch: string, rawVariant: string): [string, string] {
  const arch = rawArch.toLowerCase()
  const variant = rawVariant.toLowerCase()
  switch (arch) {
    case 'i386':
      return ['386', '']
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return ['amd64', variant === 'v1' ? '' : variant]
    case 'aarch64':
    case 'arm64':
      return ['arm64', variant === '8' || variant === 'v8' ? '' : variant]
    case 'armhf':
      return ['arm', 'v7']
    case 'armel':
      return ['arm', 'v6']
    case 'arm':
      if (variant === '' || variant === '7') return ['arm', 'v7']
      return ['arm', ['5', '6', '8'].includes(variant) ? `v${variant}` : variant]
    default:
      return [arch, variant]
  }
}

function format(os: string, arch: string, variant: string): string {
  return [os, arch, variant].filter(Boolean).join('/')
}

/**
 * A platform specifier read as containerd's `platforms.Parse` reads it, then normalized as
 * BuildKit does: `os/arch[/variant]`; an OS alone takes the architecture of `host` (the
 * machine that builds); an architecture alone takes OS linux (BuildKit's builders are
 * Linux); aliases and implied variants as in `normalizeArch`. A Windows OS version
 * (`windows(10.0.17763)`) is dropped: images are matched on os, architecture and variant.
 */
export function parsePlatform(specifier: string, host: string = DEFAULT_PLATFORM): string {
  if (specifier.includes('*')) throw new PlatformError(specifier, 'wildcards are not supported')
  const parts = specifier.split('/')
  if (parts.length > 3) throw new PlatformError(specifier, 'it has more than three parts')
  const os = OS_PART.exec(parts[0])?.[1]
  if (!os) throw new PlatformError(specifier, `"${parts[0]}" is not an operating system`)
  const bad = parts.slice(1).find(part => !PART.test(part))
  if (bad !== undefined) throw new PlatformError(specifier, `"${bad}" is not a valid part`)
  if (parts.length === 1) {
    if (KNOWN_OS.has(normalizeOs(os))) {
      const [, hostArch = 'amd64', hostVariant = ''] = host.split('/')
      return format(normalizeOs(os), ...normalizeArch(hostArch, hostVariant))
    }
    const [arch, variant] = normalizeArch(parts[0], '')
    if (KNOWN_ARCH.has(arch)) return format('linux', arch, variant)
    throw new PlatformError(specifier, 'it is no operating system or architecture known')
  }
  return format(normalizeOs(os), ...normalizeArch(parts[1], parts[2] ?? ''))
}

/**
 * An `os/arch[/variant]` already known to be a platform (an index entry, a parsed input)
 * in canonical form: `linux/arm64/v8` → `linux/arm64`, `linux/aarch64` → `linux/arm64`.
 */
export function normalizePlatform(platform: string): string {
  const [os = '', arch = '', variant = ''] = platform.split('/')
  return format(normalizeOs(os), ...normalizeArch(arch, variant))
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
