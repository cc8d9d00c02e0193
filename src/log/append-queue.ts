/**
 * A connector's appends, run one after another in the order they were queued, so durability (and what is
 * acknowledged on the strength of it) never overtakes an earlier batch. The first failure is sticky: every later
 * queued append fails with it, so nothing queued after a lost batch can be reported durable.
 *
 * `runAhead` is the overlap the threaded log allows: the caller queues a full batch and goes on preparing the next
 * once the batch before it is done, so one append is in flight while the next fills.
 */
export class AppendQueue {
  private tail: Promise<void> = Promise.resolve()
  private failure: unknown = null

  /** Queues `work` behind everything queued before it; resolves (or rejects) when it has run. */
  run(work: () => Promise<void>): Promise<void> {
    const next = this.tail.then(() => {
      this.throwIfFailed()
      return work()
    })
    this.tail = next.catch((error: unknown) => {
      this.failure ??= error
    })
    return next
  }

  /** Queues `work` and returns once everything queued before it has run (throwing the first failure, if any). */
  async runAhead(work: () => Promise<void>): Promise<void> {
    const previous = this.tail
    this.run(work).catch(() => undefined)
    await previous
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
