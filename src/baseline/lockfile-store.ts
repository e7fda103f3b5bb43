/**
 * The baseline as a committed file (input `lockfile`, CLI `--baseline`), written whole or not at all.
 */
import { rename, rm, writeFile } from 'node:fs/promises'
import { dirname, isAbsolute, resolve } from 'node:path'
import { isInside, readRegularFile } from '../sources/read/read-file.js'
import { BaselineError, parseBaseline, serializeBaseline, type Baseline } from './document.js'
import type { BaselineStore, Restored } from './store.js'
import { codeOf, messageOf } from '../errors.js'

/** A committed baseline file (input `lockfile`, CLI `--baseline`); missing means first run. */
export class LockfileStore implements BaselineStore {
  private readonly path: string
  /** The directory the file must really be in, links resolved: the workspace for a relative name. */
  private readonly root: string

  /** `name` is the file as the user wrote it, relative to `cwd` or absolute; messages call it so. */
  constructor(
    cwd: string,
    private readonly name: string
  ) {
    this.path = resolve(cwd, name)
    this.root = isAbsolute(name) ? dirname(this.path) : cwd
  }

  async restore(): Promise<Restored> {
    const read = await readBaselineFile(this.path, this.name, this.root)
    return read.state === 'found' ? { ...read, from: this.name } : read
  }

  async save(baseline: Baseline): Promise<null> {
    await writeBaselineFile(this.path, baseline, this.name)
    return null
  }

  /** It was written by `save`, whole. */
  async persistNow(saved: boolean): Promise<string | null> {
    return saved ? `${this.name} was written, so the next run compares with it` : null
  }
}

/** Far more than any repository's images; a larger file is not a baseline we wrote. */
const MAX_BASELINE_BYTES = 16 * 1024 * 1024

/**
 * A baseline file read as hostile input: a regular file inside `root` (a link that leads out
 * is not followed), bounded, and no error quotes what it holds.
 */
export async function readBaselineFile(
  path: string,
  name: string,
  root: string
): Promise<Restored> {
  if (!isInside(path, root))
    return {
      state: 'unusable',
      why: `${name} leads outside ${root} (a symbolic link?); it is not read`
    }
  const read = readRegularFile(path, MAX_BASELINE_BYTES)
  if ('why' in read)
    return read.code === 'ENOENT'
      ? { state: 'none' }
      : { state: 'unusable', why: `${name}: ${read.why}` }
  try {
    return { state: 'found', baseline: parseBaseline(read.text, name) }
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
    throw new Error(`could not write the baseline ${name} (${codeOf(error) ?? messageOf(error)})`, {
      cause: error
    })
  }
}
