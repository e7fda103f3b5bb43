import { readFile, rename, writeFile } from 'node:fs/promises'
import { BaselineError, parseBaseline, serializeBaseline, type Baseline } from './document.js'
import type { BaselineStore, Restored } from './store.js'

/** A committed baseline file (input `lockfile`, CLI `--baseline`); missing means first run. */
export class LockfileStore implements BaselineStore {
  constructor(private readonly path: string) {}

  restore(): Promise<Restored> {
    return readBaselineFile(this.path)
  }

  async save(baseline: Baseline): Promise<null> {
    await writeBaselineFile(this.path, baseline)
    return null
  }
}

export async function readBaselineFile(path: string): Promise<Restored> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'none' }
    return {
      state: 'unusable',
      why: `cannot read baseline ${path} (${(error as NodeJS.ErrnoException).code}); comparing against nothing`
    }
  }
  try {
    return { state: 'found', baseline: parseBaseline(text, path) }
  } catch (error) {
    if (error instanceof BaselineError) return { state: 'unusable', why: error.message }
    throw error
  }
}

/** Writes the baseline whole or not at all (a temporary file renamed over it). */
export async function writeBaselineFile(path: string, baseline: Baseline): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`
  await writeFile(temporary, serializeBaseline(baseline))
  await rename(temporary, path)
}
