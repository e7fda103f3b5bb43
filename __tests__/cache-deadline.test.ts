import { withDeadline } from '../src/baseline/actions-cache.js'

/** Holds the event loop, as a long scan does. */
function busy(ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until);
}

describe('the cache deadline counts only time spent waiting', () => {
  it('a scan holding the event loop past the deadline does not use it up', async () => {
    let answer: (value: string) => void = () => undefined
    const call = new Promise<string>(resolve => (answer = resolve))
    const waiting = withDeadline(call, 500)
    busy(1500) // three times the deadline, all of it the scan's
    setTimeout(() => answer('restored'), 100)
    await expect(waiting).resolves.toBe('restored')
  })

  it('a service that never answers still costs only the deadline', async () => {
    const started = performance.now()
    await expect(withDeadline(new Promise(() => undefined), 200)).rejects.toThrow(
      'the cache service did not answer within 0.2 s'
    )
    expect(performance.now() - started).toBeLessThan(1000)
  })
})
