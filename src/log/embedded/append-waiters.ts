/**
 * Long-poll support: `waitForAppend(topic, signal)` resolves on the next append to the topic, on abort, or when
 * the log closes. Waiters live only in memory; a crash simply ends the polls. Every waiter removes its abort
 * listener when it settles, so idle pollers do not leak listeners.
 */

/** The waiters' key for topic creations and deletions: no topic can be named so (topic names are Kafka's). */
export const TOPIC_CHANGES = '\u0000topics'

export class AppendWaiters {
  private readonly waiters = new Map<string, Set<() => void>>()

  wait(topic: string, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve()
    return new Promise<void>((resolve) => {
      let set = this.waiters.get(topic)
      if (set === undefined) {
        set = new Set()
        this.waiters.set(topic, set)
      }
      const waiters = set
      const settle = (): void => {
        signal.removeEventListener('abort', settle)
        waiters.delete(settle)
        if (waiters.size === 0 && this.waiters.get(topic) === waiters) this.waiters.delete(topic)
        resolve()
      }
      waiters.add(settle)
      signal.addEventListener('abort', settle, { once: true })
    })
  }

  notify(topics: Iterable<string>): void {
    for (const topic of topics) {
      const set = this.waiters.get(topic)
      if (set === undefined) continue
      this.waiters.delete(topic)
      for (const settle of set) settle()
    }
  }

  /** Resolves every waiter (used on close). */
  notifyAll(): void {
    this.notify([...this.waiters.keys()])
  }
}
