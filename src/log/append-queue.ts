/**
 * A connector's appends, run one after another in the order they were queued, so durability (and what is
 * acknowledged on the strength of it) never overtakes an earlier batch. The first failure is sticky: every later
 * queued append fails with it, so nothing queued after a lost batch can be reported durable.
 *
 * `runAhead` is the overlap the threaded log allows: the caller queues a full batch and goes on preparing the next
 * while up to `inFlight` batches (the one just queued included) are still being appended.
 */
export class AppendQueue {
  private tail: Promise<void> = Promise.resolve()
  private failure: unknown = null
  /** The tails after the most recently queued work, newest last (as many as `runAhead` looks back). */
  private readonly recent: Array<Promise<void>> = []

  /** `inFlight`: batches `runAhead` leaves running when it returns (1: only the one it queued). */
  constructor(private readonly inFlight = 1) {}

  /** Queues `work` behind everything queued before it; resolves (or rejects) when it has run. */
  run(work: () => Promise<void>): Promise<void> {
    const next = this.tail.then(() => {
      this.throwIfFailed()
      return work()
    })
    this.tail = next.catch((error: unknown) => {
      this.failure ??= error
    })
    this.recent.push(this.tail)
    if (this.recent.length > this.inFlight) this.recent.shift()
    return next
  }

  /**
   * Queues `work` and returns once everything queued before the last `inFlight` works (this one included) has run,
   * throwing the first failure, if any.
   */
  async runAhead(work: () => Promise<void>): Promise<void> {
    // Queued before this one, `inFlight - 1` back: what must be done before the caller goes on.
    const previous = this.recent.length >= this.inFlight ? this.recent[this.recent.length - this.inFlight] : null
    this.run(work).catch(() => undefined)
    if (previous !== null) await previous
    this.throwIfFailed()
  }

  /** Resolves once everything queued so far has run; throws the first failure, if any. */
  async drained(): Promise<void> {
    await this.tail
    this.throwIfFailed()
  }

  private throwIfFailed(): void {
    if (this.failure !== null) throw this.failure
  }
}
