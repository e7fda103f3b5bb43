import { jest } from '@jest/globals'
import { withDeadline } from '../src/baseline/actions-cache.js'

/**
 * The cache deadline counts only time the step could spend waiting. The clock here is the
 * test's: timers are faked, and a scan that holds the event loop is a jump of the clock
 * between two ticks, as the process sees it.
 */
describe('the cache deadline counts only time spent waiting', () => {
  let now = 0
  const clock = () => now
  /** Time passes with the event loop free: every tick runs. */
  const wait = async (ms: number) => {
    for (let i = 0; i < ms / 100; i++) {
      now += 100
      await jest.advanceTimersByTimeAsync(100)
    }
  }
  /** A scan holds the event loop for `ms`: the next tick sees the clock jump. */
  const hold = async (ms: number) => {
    now += ms
    await jest.advanceTimersByTimeAsync(100)
  }
  beforeEach(() => {
    now = 0
    jest.useFakeTimers()
  })
  afterEach(() => jest.useRealTimers())

  it('a scan holding the event loop three times past the deadline does not use it up', async () => {
    let answer: (value: string) => void = () => undefined
    const call = new Promise<string>(resolve => (answer = resolve))
    let settled = false
    const waiting = withDeadline(call, 500, clock).finally(() => (settled = true))
    await hold(1500)
    await wait(100)
    expect(settled).toBe(false)
    answer('restored')
    await expect(waiting).resolves.toBe('restored')
  })

  it('a service that never answers costs the deadline, and no more', async () => {
    let failure: unknown = null
    const waiting = withDeadline(new Promise(() => undefined), 500, clock).catch(
      (error: unknown) => (failure = error)
    )
    await wait(400)
    expect(failure).toBeNull()
    await wait(100)
    await waiting
    expect(failure).toEqual(new Error('the cache service did not answer within 0.5 s'))
  })
})
