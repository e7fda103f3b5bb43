/**
 * The baseline as a committed file (input `lockfile`, CLI `--baseline`), written whole or not at all.
 */
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { BaselineError, parseBaseline, serializeBaseline, type Baseline } from './document.js'
import type { BaselineStore, Restored } from './store.js'

/** A committed baseline file (input `lockfile`, CLI `--baseline`); missing means first run. */
export class LockfileStore implements BaselineStore {
  /** `name` is how messages call the file: as the user wrote it. */
  constructor(
    private readonly path: string,
    private readonly name = path
  ) {}

  async restore(): Promise<Restored> {
    const read = await readBaselineFile(this.path, this.name)
    return read.state === 'found' ? { ...read, from: this.name } : read
  }

  async save(baseline: Baseline): Promise<null> {
    await writeBaselineFile(this.path, baseline, this.name)
    return null
  }
}

/** Far more than any repository's images; a larger file is not a baseline we wrote. */
const MAX_BASELINE_BYTES = 16 * 1024 * 1024

export async function readBaselineFile(path: string, name = path): Promise<Restored> {
  let text: string
  try {
    const { size } = await stat(path)
    if (size > MAX_BASELINE_BYTES)
      return { state: 'unusable', why: `${name} is larger than 16 MiB (${size} bytes)` }
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'none' }
    return {
      state: 'unusable',
      why: `${name} cannot be read (${(error as NodeJS.ErrnoException).code})`
    }
  }
  try {
    return { state: 'found', baseline: parseBaseline(text, name) }
  } catch (error) {
    if (error instanceof BaselineError) return { state: 'unusable', why: error.message }
    throw error
  }
}

/** Writes the baseline whole or not at all (a temporary file renamed over it). */
export async function writeBaselineFile(
  path: string,
  baseline: Baseline,
  name = path
): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`
  try {
    await writeFile(temporary, serializeBaseline(baseline))
    await rename(temporary, path)
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined)
    throw new Error(
      `could not write the baseline ${name} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      { cause: error }
    )
  }
}
