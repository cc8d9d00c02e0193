/** In-process wake-ups: the API changed a source's snapshot runs, so its task should look again. */
import { EventEmitter } from 'node:events'

export class SnapshotNotifier {
  private readonly emitter = new EventEmitter().setMaxListeners(0)

  notify(sourceId: string): void {
    this.emitter.emit(sourceId)
  }

  /** Resolves at the next notification for `sourceId`, or when `signal` aborts. */
  next(sourceId: string, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve()
      const done = () => {
        this.emitter.off(sourceId, done)
        signal.removeEventListener('abort', done)
        resolve()
      }
      this.emitter.on(sourceId, done)
      signal.addEventListener('abort', done, { once: true })
    })
  }
}
