/** Waits a test server makes (latency, stalls, drips), all cut short when it stops, so none outlives its test. */
export class Pauses {
  private readonly timers = new Set<NodeJS.Timeout>()

  wait(ms: number): Promise<void> {
    return new Promise(resolve => {
      const timer = setTimeout(() => {
        this.timers.delete(timer)
        resolve()
      }, ms)
      this.timers.add(timer)
    })
  }

  /** Cancels every wait under way; what waited never resumes. */
  cancelAll(): void {
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
  }
}
