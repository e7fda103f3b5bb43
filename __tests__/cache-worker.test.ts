import { jest } from '@jest/globals'
import { inWorker } from '../src/baseline/actions-cache.js'

const fixture = (name: string) => new URL(`./fixtures/workers/${name}`, import.meta.url)

/**
 * Each cache call runs in a worker thread whose output the adapter reads: the step's own
 * `process.stdout.write` is never replaced while other work runs, and a line the library
 * prints after the deadline is never printed at all.
 */
describe('a cache call in a worker thread', () => {
  let printed: string[]
  let spy: ReturnType<typeof jest.spyOn>
  beforeEach(() => {
    printed = []
    spy = jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      printed.push(String(chunk))
      return true
    }) as typeof process.stdout.write)
  })
  afterEach(() => spy.mockRestore())

  it('holds back the library’s failure line as a problem and prints its other lines', async () => {
    const { result, problems } = await inWorker<string>(
      fixture('late-line.mjs'),
      { lateMs: 10, answer: 'base-image-drift-abc-1' },
      5_000
    )
    expect(result).toBe('base-image-drift-abc-1')
    expect(problems).toEqual(['Cache service responded with 503'])
    expect(printed).toEqual(['Cache Size: ~0 MB (123 B)\n'])
  })

  // measured before: a 500 whose body carried `::` lines put 3 forged commands in the log
  it('a line that carries a service answer is text, whatever it holds; the library’s debug lines pass', async () => {
    const body =
      'internal\n::error file=Dockerfile::forged\n  ::add-mask::forged-mask\n::stop-commands::x'
    const { result } = await inWorker<string>(fixture('retry-line.mjs'), { body }, 5_000)
    expect(result).toBe('answered')
    const lines = printed.join('').split('\n')
    expect(lines[0]).toBe('::debug::[Request] POST http://cache/twirp/CreateCacheEntry')
    expect(lines.slice(1).filter(line => line.trimStart().startsWith('::'))).toEqual([])
    expect(printed.join('')).toContain('forged')
  })

  it('a line printed after the deadline never reaches the step’s output', async () => {
    const stdoutWrite = process.stdout.write
    const { result, problems } = await inWorker<string>(
      fixture('late-line.mjs'),
      { lateMs: 300, answer: 'late' },
      100
    )
    expect(result).toEqual(new Error('the cache service did not answer within 0.1 s'))
    // the worker is stopped: wait past the moment it would have printed
    await new Promise(resolve => setTimeout(resolve, 400))
    expect(printed.join('')).not.toContain('Failed to restore')
    expect(problems).toEqual([])
    // nothing replaced the step's own writer meanwhile (the spy is this test's)
    expect(process.stdout.write).toBe(stdoutWrite)
  })

  it('a call that throws is its error, never the run’s', async () => {
    const { result } = await inWorker(fixture('crashes.mjs'), {}, 5_000)
    expect(result).toBeInstanceOf(Error)
    expect((result as Error).message).toContain('tar: unexpected end of archive')
  })
})
