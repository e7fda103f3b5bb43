import type { Baseline } from '../baseline/document.js'
import { compare, type Finding } from '../compare/compare.js'
import { decide, type Policy, type Verdict } from '../compare/policy.js'
import { explainDrift } from '../explain/fetch.js'
import { formatReference, tagOf } from '../reference/reference.js'
import { normalizePlatform } from '../registry/platforms.js'
import type { RegistryClient } from '../registry/remote.js'
import { fillPreviousPlatforms, resolutionKey, resolveAll } from '../resolve/resolve.js'
import type { FoundReference } from '../scan/types.js'

export interface CheckRequest {
  references: FoundReference[]
  baseline: Baseline | null
  client: RegistryClient
  platforms: string[]
  policy: Policy
  now: string
  run?: string
  commit?: string
}

export interface CheckResult {
  findings: Finding[]
  next: Baseline
  verdict: Verdict
}

/** SPEC §2 from image references to a verdict: resolve, compare with the baseline, decide. */
export async function check(request: CheckRequest): Promise<CheckResult> {
  const platforms = request.platforms.map(normalizePlatform)
  const resolutions = await resolveAll(request.references, request.client, platforms)
  if (platforms.length > 0 && request.baseline) {
    // one entry per image however many lines name it: each old index is read once
    const moved = new Map<string, Parameters<typeof fillPreviousPlatforms>[0][number]>()
    for (const reference of request.references) {
      if (!reference.image || reference.image.digest) continue
      const key = formatReference(reference.image)
      const previous = request.baseline.images[key]
      const now = resolutions.get(resolutionKey(reference.image))?.digest
      if (previous && now) moved.set(key, { image: tagOf(reference.image)!, previous, now })
    }
    await fillPreviousPlatforms([...moved.values()], request.client, platforms)
  }
  const { findings, next } = compare(request.references, resolutions, request.baseline, {
    platforms,
    accept: request.policy.accept,
    now: request.now,
    run: request.run,
    commit: request.commit
  })
  // one explanation per drifted image however many lines name it, all fetched at once
  const drifted = findings.filter(f => f.status === 'drifted')
  const explanations = new Map<string, ReturnType<typeof explainDrift>>()
  for (const f of drifted)
    if (!explanations.has(f.image!))
      explanations.set(f.image!, explainDrift(f, request.client, platforms))
  await Promise.all(drifted.map(async f => (f.explanation = await explanations.get(f.image!))))
  const verdict = decide(findings, request.policy)
  const before = Object.keys(request.baseline?.images ?? {}).length
  if (verdict.save && before > 0 && Object.keys(next.images).length === 0) {
    // never overwrite a baseline with a worse one: an empty scan is more likely a wrong `files` than no images
    verdict.save = false
    verdict.keptBecause = `no image references were found, so the baseline of ${before} images was kept; check the files input`
  }
  return { findings, next, verdict }
}
