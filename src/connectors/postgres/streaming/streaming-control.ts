/**
 * The pause handshake between a blocking snapshot and the streaming phase (Debezium's ChangeEventSourceContext):
 * the snapshot asks streaming to pause and *waits for the acknowledgement*, which streaming gives only at a
 * transaction boundary with everything before it durable. While paused, streaming reads nothing more, so the
 * walsender is held back by backpressure and the slot keeps the WAL.
 */
import type { ChangeEvent } from '../../../events/change-event.js'
import type { PgOutputMessage } from '../pgoutput/messages.js'

type LogicalMessage = Extract<PgOutputMessage, { tag: 'message' }>

/** Lets an incremental snapshot watch the stream (DBLog watermark windows). */
export interface StreamInterceptor {
  /** Sees every streamed change, before it is written. */
  onChange(topic: string, event: ChangeEvent): void
  /** Sees logical messages; may return snapshot events to write at this point of the stream. */
  onMessage(message: LogicalMessage): { records: Array<{ topic: string; event: ChangeEvent }>; afterDurable(): Promise<void> } | null
}

export class StreamingControl {
  private idle = true
  private requested: Array<() => void> = []
  private gateOpen: (() => void) | null = null
  private gatePromise: Promise<void> | null = null
  pausedSince: number | null = null
  interceptor: StreamInterceptor | null = null

  get paused(): boolean {
    return this.gatePromise !== null
  }

  /** A pause was asked for and is waiting for the next boundary. */
  get pausing(): boolean {
    return this.requested.length > 0
  }

  /** Resolves once streaming has stopped at a transaction boundary with everything before it durable. */
  requestPause(): Promise<void> {
    if (this.paused) return Promise.resolve()
    return new Promise((resolve) => {
      this.requested.push(resolve)
      if (this.idle) this.grant()
    })
  }

  resume(): void {
    const open = this.gateOpen
    this.gateOpen = null
    this.gatePromise = null
    this.pausedSince = null
    open?.()
  }

  /** Streaming: a frame arrived; while paused, returns the promise to wait on (nothing otherwise: no await needed). */
  enter(): Promise<void> | undefined {
    this.idle = false
    return this.gatePromise ?? undefined
  }

  /** Streaming: at a boundary with nothing pending; a requested pause takes effect now. */
  atBoundary(): void {
    this.idle = true
    if (this.requested.length > 0) this.grant()
  }

  private grant(): void {
    if (!this.gatePromise) {
      this.gatePromise = new Promise((resolve) => {
        this.gateOpen = resolve
      })
      this.pausedSince = Date.now()
    }
    const waiting = this.requested
    this.requested = []
    for (const resolve of waiting) resolve()
  }
}
