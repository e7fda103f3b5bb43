import { sharedObject } from '../src/explain/packages.js'
import { parseChallenge } from '../src/registry/auth.js'
import { packageUses } from '../src/sources/dockerfile/uses.js'

/**
 * Text from a pull request or a registry, read in time proportional to it: each timed against
 * ordinary text of the same size in the same run, never against a clock. The pace tier: run
 * by `npm test`, not by the unit tier, which asserts on no time at all.
 */
describe('hostile text read in linear time', () => {
  const removed = [{ name: 'libssl1.1', sharedObject: sharedObject('libssl1.1') }]

  it('reads a hostile RUN line in time proportional to it, like an ordinary one', () => {
    const timed = (line: string) => {
      let best = Infinity
      for (let i = 0; i < 3; i++) {
        const started = performance.now()
        packageUses('Dockerfile', `FROM x\nRUN ${line}\n`, 1, removed)
        best = Math.min(best, performance.now() - started)
      }
      return best
    }
    const hostile = `${'apt '.repeat(50_000)}libssl1.1`
    const ordinary = `${'pip install flask; '.repeat(Math.ceil(hostile.length / 19))}`.slice(
      0,
      hostile.length
    )
    expect(timed(hostile)).toBeLessThan(40 * Math.max(timed(ordinary), 1))
  })

  // measured before the bound: a 15.8 KB challenge on each of 2,000 401s was 24 s of CPU
  // against a 10 s run limit (a 68-byte one: 1.4 s)
  it('reads a challenge in one pass over at most 8 KiB: a 15.8 KB one costs what its first 8 KiB do', () => {
    const ordinary = 'Bearer realm="https://auth.example.com/token",service="registry.example.com"'
    const huge = `Bearer realm="https://auth.example.com/token",${'x="y\\"z",'.repeat(1800)}service="s"`
    expect(huge.length).toBeGreaterThan(15_800)
    const time = (header: string) => {
      const started = performance.now()
      for (let i = 0; i < 2000; i++) parseChallenge(header)
      return performance.now() - started
    }
    time(ordinary)
    const perByte = time(ordinary) / ordinary.length
    // linear in the 8 KiB read, with room for a loaded machine; a quadratic pass is far past it
    expect(time(huge)).toBeLessThan(Math.max(40 * perByte * 8192, 200))
    expect(parseChallenge(huge)?.params.realm).toBe('https://auth.example.com/token')
  })
})
