// What the in-process benchmarks share: CPU time since a mark, the best of five runs, and the
// corpus's Dockerfiles they build their trees from.
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** Milliseconds of CPU (user and system) since `start`. */
export function cpuMs(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1000
}

/** The run of least CPU of five. */
export async function bestOfFive<Run extends { cpu: number }>(
  run: () => Promise<Run>
): Promise<Run> {
  const runs: Run[] = []
  for (let i = 0; i < 5; i++) runs.push(await run())
  return runs.sort((a, b) => a.cpu - b.cpu)[0]
}

/** Every Dockerfile and Containerfile under a folder. */
export function listDockerfiles(dir: string): string[] {
  const found: string[] = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) found.push(...listDockerfiles(path))
    else if (/(Dockerfile|Containerfile)(\.(build|dev))?$/.test(name)) found.push(path)
  }
  return found
}
