/**
 * Which lines of the user's Dockerfile need a package the new image no longer has: RUN
 * lines of the stages built on it that install the package or name its shared object,
 * COPY/ADD lines that copy that shared object. Pure.
 */
import { parseDockerfileSyntax, splitWords } from './syntax.js'
import type { PackageUse, RemovedPackage } from '../read/source.js'

const INSTALLERS = new Set([
  'apt-get',
  'apt',
  'aptitude',
  'apk',
  'dnf',
  'yum',
  'microdnf',
  'zypper'
])
/** Where a package name or a file name ends: anything that cannot be part of one. */
const SEPARATORS = /[^A-Za-z0-9.+_-]+/

export function packageUses(
  file: string,
  text: string,
  fromLine: number,
  removed: readonly RemovedPackage[]
): PackageUse[] {
  if (removed.length === 0) return []
  const syntax = parseDockerfileSyntax(text)
  const names = new Map<string, { package: string; soname: boolean }>()
  for (const p of removed) {
    names.set(p.name, { package: p.name, soname: false })
    if (p.sharedObject) names.set(p.sharedObject, { package: p.name, soname: true })
  }
  const uses: PackageUse[] = []
  // the stage that FROM line starts, and every later stage built on it
  const built = new Set<string>()
  let inside = false
  for (const instruction of syntax.instructions) {
    if (instruction.keyword === 'from') {
      const words = splitWords(instruction.args, syntax.escape).filter(w => !w.startsWith('--'))
      const base = (words[0] ?? '').toLowerCase()
      inside = instruction.line === fromLine || built.has(base)
      if (inside && words[1]?.toLowerCase() === 'as' && words[2]) built.add(words[2].toLowerCase())
      continue
    }
    if (!inside || !['run', 'copy', 'add'].includes(instruction.keyword)) continue
    const tokens = new Set(instruction.args.split(SEPARATORS))
    const installing = instruction.keyword === 'run' && installs(instruction.args)
    const seen = new Set<string>()
    for (const token of tokens) {
      const hit = names.get(token)
      if (!hit || seen.has(hit.package)) continue
      if (instruction.keyword !== 'run' && !hit.soname) continue
      seen.add(hit.package)
      uses.push({
        file,
        line: instruction.line,
        column: instruction.column,
        package: hit.package,
        does:
          instruction.keyword !== 'run' ? 'copies' : installing && !hit.soname ? 'installs' : 'uses'
      })
    }
  }
  return uses
}

/** Whether a shell command line runs a package manager's install (by words, in one pass). */
function installs(command: string): boolean {
  return command.split(/[;&|]+/).some(part => {
    const words = part.split(/\s+/)
    return words.some(w => INSTALLERS.has(w)) && words.some(w => w === 'install' || w === 'add')
  })
}
