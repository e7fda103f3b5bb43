/**
 * The one pipeline both front ends run: discover → scan → resolve → compare → explain →
 * decide → save. The action and the CLI only map their inputs in and the result out.
 */
import type { Baseline } from '../baseline/document.js'
import { seenFile, type Reading } from '../baseline/merge.js'
import { UnusableBaselineError, type BaselineStore, type Restored } from '../baseline/store.js'
import { compare, trackedPlatforms, type DriftedFinding, type Finding } from '../compare/compare.js'
import { decide, type Policy, type Verdict } from '../decide/policy.js'
import { resolve } from 'node:path'
import { sharedObject } from '../explain/packages.js'
import { explainDrift, type ExplainResult, type ImageMove } from '../explain/read.js'
import { kindSpec } from '../sources/index.js'
import { isInside, MAX_MANIFEST_BYTES, readRegularFile } from '../sources/read/read-file.js'
import { normalizePlatform } from '../reference/platform.js'
import { formatReference, tagOf } from '../reference/reference.js'
import {
  RegistryClient,
  type RegistryClientOptions,
  type RegistryStats
} from '../registry/remote.js'
import {
  platformChanges,
  resolutionKey,
  resolveAll,
  type MovedImage,
  type Resolution
} from '../resolve/resolve.js'
import { discover, type DiscoverOptions, type Discovered } from '../sources/discover.js'
import type { FoundReference, ScanProblem } from '../sources/read/source.js'
import { FileText, type PinPlace } from '../sources/read/pin-site.js'
import { byFile, pinPlaces } from '../pin/place.js'
import { counted } from '../words.js'
import { ConfigError } from '../config/values.js'
import { DEFAULTS, RUN_TIMEOUT_FACTOR } from '../config/defaults.js'
import { messageOf } from '../errors.js'

/** What to scan: the files, the build args and the variables, as discovery takes them. */
export interface ScanRequest extends Pick<
  DiscoverOptions,
  'cwd' | 'select' | 'buildArgs' | 'variables' | 'helmImageKeys'
> {
  until: 'scan'
  /** Platforms to track (and to scan `$TARGETPLATFORM` for); empty: the runner's. */
  platforms: string[]
  /** The platform builds run on here: the runner's, or the CLI's host's. */
  runnerPlatform: string
  /** The job's secrets, never interpolated into a reference. */
  secrets?: readonly string[]
  /** Told as the run moves on: the front end says it, so a slow registry is never silence. */
  progress?: (event: Progress) => void
}

/** Where a run is. */
export type Progress =
  | { phase: 'scanned'; files: number; references: number; images: number }
  | { phase: 'resolving'; done: number; total: number; image: string }
  | { phase: 'explaining'; images: number }

export interface ResolveRequest extends Omit<ScanRequest, 'until'> {
  until: 'resolve'
  registry: RegistryClientOptions
}

export interface CheckRequest extends Omit<ResolveRequest, 'until'> {
  until: 'check'
  store: BaselineStore
  policy: Policy
  /** Record the next baseline in the store when nothing fails (`--update`, the cache). */
  save: boolean
  /** MiB of compressed layers each drifted image's package database may cost; 0: SBOMs only. */
  explainBudgetMiB: number
  now: string
  run?: string
  commit?: string
}

export interface Scanned {
  discovered: Discovered
}

export interface Resolved extends Scanned {
  resolutions: Map<string, Resolution>
  stats: RegistryStats
}

export interface Checked extends Resolved {
  restored: Restored
  baseline: Baseline | null
  /** The policy decided by: its acceptance matched to the images that drifted. */
  policy: Policy
  findings: Finding[]
  /** What changed inside each drifted image, keyed by the normalized reference. */
  explanations: ReadonlyMap<string, ExplainResult>
  verdict: Verdict
  next: Baseline
  /** The next baseline with every drift accepted: what a lockfile must say to accept this run. */
  accepting: Baseline
  /** What this step read of its files, which a store merges into a baseline saved meanwhile. */
  reading: Reading
  /** Whether the next baseline was recorded in the store. */
  saved: boolean
  /** Why the store did not take it, when it refused. */
  saveProblem: string | null
  /** With accept: why the stored baseline could not be used, now replaced. */
  replaced: string | null
}

export function run(request: ScanRequest): Promise<Scanned>
export function run(request: ResolveRequest): Promise<Resolved>
export function run(request: CheckRequest): Promise<Checked>
export async function run(
  request: ScanRequest | ResolveRequest | CheckRequest
): Promise<Scanned | Resolved | Checked> {
  // track what the build gets: the platforms asked for, else the one the runner builds
  const asked = request.platforms.map(normalizePlatform)
  const platforms = asked.length > 0 ? asked : [normalizePlatform(request.runnerPlatform)]
  // the baseline is restored while the files are scanned and the registries asked: the two
  // meet only at compare, and a cache restore is a network round trip or two
  const restoring = request.until === 'check' ? request.store.restore() : null
  // a store that throws is reported where it is awaited, not as an unhandled rejection meanwhile
  restoring?.catch(() => undefined)
  // one limit for the whole run: the scan and the registries' requests both end inside it
  const runMs =
    'registry' in request
      ? (request.registry.runTimeoutMs ?? request.registry.timeoutMs * RUN_TIMEOUT_FACTOR)
      : DEFAULTS.timeoutSeconds * 1000 * RUN_TIMEOUT_FACTOR
  const client = request.until === 'scan' ? null : new RegistryClient(request.registry)
  const discovering = discover({
    deadline: {
      at: performance.now() + runMs,
      described: `${runMs / 1000} s (${RUN_TIMEOUT_FACTOR} × timeout)`
    },
    cwd: request.cwd,
    select: request.select,
    buildArgs: request.buildArgs,
    targetPlatforms: platforms,
    buildPlatform: normalizePlatform(request.runnerPlatform),
    variables: request.variables,
    helmImageKeys: request.helmImageKeys,
    secrets: request.secrets ?? []
  })
  // a scan that fails (a path that does not exist) leaves no client open
  const discovered = await discovering.catch(async error => {
    await client?.close()
    throw error
  })
  const progress = request.progress ?? (() => undefined)
  progress({
    phase: 'scanned',
    files: discovered.files.length,
    references: discovered.references.length,
    images: new Set(discovered.references.flatMap(r => (r.image ? [formatReference(r.image)] : [])))
      .size
  })
  if (request.until === 'scan' || client === null) return { discovered }
  const resolved = (done: number, total: number, image: string) =>
    progress({ phase: 'resolving', done, total, image })
  try {
    if (request.until === 'resolve' || restoring === null) {
      // `resolve` shows the platform digests it was asked for
      const resolutions = await resolveAll(discovered.references, client, asked, resolved)
      return { discovered, resolutions, stats: client.stats }
    }
    // the steady state is one HEAD per reference: indexes are read only where the digest moved
    const [restored, resolutions] = await Promise.all([
      restoring,
      resolveAll(discovered.references, client, [], resolved)
    ])
    if (restored.state === 'unusable' && request.policy.accept !== true)
      throw new UnusableBaselineError(restored.why)
    return {
      discovered,
      resolutions,
      ...(await decideAndSave(request, restored, discovered, resolutions, client, platforms)),
      stats: client.stats
    }
  } finally {
    await client.close()
  }
}

async function decideAndSave(
  request: CheckRequest,
  restored: Restored,
  discovered: Discovered,
  resolutions: Map<string, Resolution>,
  client: RegistryClient,
  platforms: string[]
): Promise<Omit<Checked, keyof Resolved>> {
  const baseline = restored.state === 'found' ? restored.baseline : null
  if (baseline) discovered.warnings.push(...noLongerRead(baseline, discovered))
  const {
    findings: compared,
    next,
    accepting,
    reading,
    acceptance,
    refused
  } = compare(discovered.references, resolutions, baseline, {
    platforms,
    accept: request.policy.accept,
    scanned: discovered.files,
    unreadable: discovered.errors,
    platformChanges: baseline
      ? await platformChanges(movedImages(discovered, resolutions, baseline, platforms), client)
      : undefined,
    now: request.now,
    run: request.run,
    commit: request.commit
  })
  if (refused.length > 0) throw new ConfigError(`input accept: ${refused.join('; ')}`)
  const policy = { ...request.policy, accept: acceptance }
  const drifted = new Set(compared.flatMap(f => (f.status === 'drifted' ? [f.image] : []))).size
  if (drifted > 0) request.progress?.({ phase: 'explaining', images: drifted })
  const explanations = await explainAll(
    compared,
    client,
    platforms,
    request.explainBudgetMiB * 1024 * 1024
  )
  // a drift with the lines that need what it removed, and each line's pin: new findings,
  // compare's left as it made them; each file read again once for both
  const read = readingInside(request.cwd)
  const findings = withPins(
    compared.map(finding =>
      finding.status === 'drifted' ? withUses(finding, explanations, read) : finding
    ),
    read
  )
  const verdict = decide(findings, policy, explanations, {
    referencesFound: discovered.references.length,
    recorded: Object.keys(baseline?.images ?? {}).length
  })
  // a baseline that could not be restored is not replaced by one that compared with nothing
  const unrestored =
    restored.state === 'unavailable' || (restored.state === 'none' && !!restored.unrestorable)
  const saving = request.save && verdict.save && !unrestored
  const saveProblem = saving ? await request.store.save(next, reading) : null
  return {
    restored,
    baseline,
    policy,
    findings,
    explanations,
    verdict,
    next,
    accepting,
    reading,
    saved: saving && saveProblem === null,
    saveProblem,
    replaced: restored.state === 'unusable' ? restored.why : null
  }
}

/**
 * Where each reference the report tells to pin is written: a drift (to its known-good
 * digest), a new image (as it is now), a stale pin. Each file is read once, through the
 * same rules as the scan.
 */
function withPins(findings: Finding[], read: (file: string) => string | null): Finding[] {
  const wanted = (f: Finding) =>
    f.status === 'drifted' || f.status === 'new' || (f.status === 'pinned' && f.stale)
  const files = new Set(findings.filter(wanted).map(f => f.reference.file))
  // every reference of those files: a line that names two images cannot take one digest
  const told = byFile(findings.flatMap(f => (files.has(f.reference.file) ? [f.reference] : [])))
  const places = new Map<FoundReference, PinPlace>()
  for (const [file, references] of told) {
    const text = read(file)
    if (text === null) continue
    for (const [reference, place] of pinPlaces(new FileText(file, text), references))
      places.set(reference, place)
  }
  return findings.map(finding => {
    const pin = wanted(finding) ? places.get(finding.reference) : undefined
    return pin && finding.status !== 'error' ? { ...finding, pin } : finding
  })
}

/**
 * Files of the scanned root, each read once as the scan read it a moment ago (as large as
 * any source reads: a manifest up to 16 MiB); null when one is no longer that.
 */
function readingInside(cwd: string): (file: string) => string | null {
  const texts = new Map<string, string | null>()
  return file => {
    if (!texts.has(file)) {
      const path = resolve(cwd, file)
      const read = isInside(path, cwd) ? readRegularFile(path, MAX_MANIFEST_BYTES) : null
      texts.set(file, read && 'text' in read ? read.text : null)
    }
    return texts.get(file) ?? null
  }
}

/** The lines of a drifted reference's file that need a package the new image lost, where its kind can tell. */
function withUses(
  finding: DriftedFinding,
  explanations: ReadonlyMap<string, ExplainResult>,
  read: (file: string) => string | null
): DriftedFinding {
  const explanation = explanations.get(finding.image)
  const packages = explanation && 'packages' in explanation ? explanation.packages : undefined
  const linesNeeding = kindSpec(finding.reference).packageUses
  if (!linesNeeding || !packages || !('diff' in packages)) return finding
  if (packages.diff.removed.length === 0) return finding
  const text = read(finding.reference.file)
  if (text === null) return finding
  const packageUses = linesNeeding(
    finding.reference,
    text,
    packages.diff.removed.map(p => ({ name: p.name, sharedObject: sharedObject(p.name) }))
  )
  return { ...finding, packageUses }
}

/** One entry per image whose index moved, however many lines name it: each index is read once. */
function movedImages(
  discovered: Discovered,
  resolutions: Map<string, Resolution>,
  baseline: Baseline,
  platforms: string[]
): MovedImage[] {
  const moved = new Map<string, MovedImage>()
  for (const reference of discovered.references) {
    const image = reference.image
    if (!image || image.digest) continue
    const key = formatReference(image)
    const previous = baseline.images[key]
    const now = resolutions.get(resolutionKey(image))
    if (!previous || !now || !('digest' in now) || now.digest === previous.digest) continue
    const tracked = trackedPlatforms(reference, platforms)
    const known = moved.get(key)
    moved.set(key, {
      key,
      image: tagOf(image) ?? image,
      before: previous.digest,
      after: now.digest,
      tracked: [...new Set([...(known?.tracked ?? []), ...tracked])],
      ...(previous.platforms ? { recorded: previous.platforms } : {})
    })
  }
  return [...moved.values()]
}

/**
 * The files the baseline saw images in that are still here but no longer read as any kind
 * (an edit made a Compose file something else): their entries are kept, and that is said.
 */
function noLongerRead(baseline: Baseline, discovered: Discovered): ScanProblem[] {
  const passedOver = new Set(discovered.passedOver)
  const kept = new Map<string, number>()
  for (const entry of Object.values(baseline.images))
    for (const file of new Set((entry.seenAt ?? []).map(seenFile)))
      if (passedOver.has(file)) kept.set(file, (kept.get(file) ?? 0) + 1)
  return [...kept].map(([file, count]) => ({
    file,
    message: `recorded with ${counted(count, 'image')} but its content is no longer of a kind read here; ${count === 1 ? 'its entry is' : 'their entries are'} kept in the baseline`
  }))
}

/** Images explained at once: each may hold its package databases in memory. */
const EXPLAINED_AT_ONCE = 2

/**
 * One explanation per drifted image however many lines name it, a few at a time. Whatever
 * goes wrong inside one image's explanation makes that image "not known", never the run.
 */
async function explainAll(
  findings: Finding[],
  client: RegistryClient,
  platforms: string[],
  budgetBytes: number
): Promise<Map<string, ExplainResult>> {
  // a drift, and what bumping a stale pin would change: the pin is no way to stop looking
  const moved = new Map<string, { move: ImageMove; budget: number }>()
  for (const f of findings)
    if (f.status === 'drifted' && !moved.has(f.image))
      moved.set(f.image, { move: f, budget: budgetBytes })
    else if (f.status === 'pinned' && f.stale && f.tagDigest && !moved.has(f.image))
      // a stale pin is told every run until it is bumped: its configs and SBOMs, never its layers
      moved.set(f.image, {
        move: { parsed: f.parsed, previous: f.current, current: { digest: f.tagDigest } },
        budget: 0
      })
  const queue = [...moved]
  const explained = new Map<string, ExplainResult>()
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [image, { move, budget }] = next
      try {
        explained.set(image, await explainDrift(move, client, platforms, budget))
      } catch (error) {
        explained.set(image, {
          platform: null,
          unavailable: `what changed could not be read (${messageOf(error)}); only the digests are known`
        })
      }
    }
  }
  await Promise.all(Array.from({ length: EXPLAINED_AT_ONCE }, worker))
  // in the findings' order, as before
  return new Map(
    [...moved.keys()].flatMap(image => {
      const result = explained.get(image)
      return result ? [[image, result] as const] : []
    })
  )
}
