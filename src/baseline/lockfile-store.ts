import { readFile, rename, writeFile } from 'node:fs/promises'
import { BaselineError, parseBaseline, serializeBaseline, type Baseline } from './document.js'

export interface Restored {
  baseline: Baseline | null
  /** Why a stored baseline was not used; absent when there was none or it was read. */
  warning?: string
}

/** A committed baseline file (input `lockfile`, CLI `--baseline`); missing means first run. */
export async function readBaselineFile(path: string): Promise<Restored> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { baseline: null }
    return {
      baseline: null,
      warning: `cannot read baseline ${path} (${(error as NodeJS.ErrnoException).code}); comparing against nothing`
    }
  }
  try {
    return { baseline: parseBaseline(text, path) }
  } catch (error) {
    if (error instanceof BaselineError) return { baseline: null, warning: error.message }
    throw error
  }
}

/** Writes the baseline whole or not at all (a temporary file renamed over it). */
export async function writeBaselineFile(path: string, baseline: Baseline): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`
  await writeFile(temporary, serializeBaseline(baseline))
  await rename(temporary, path)
}
