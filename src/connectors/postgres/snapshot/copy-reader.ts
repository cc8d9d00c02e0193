/**
 * Streams the rows of a query with `COPY (…) TO STDOUT` (text format, the same text pgoutput sends, so one set of
 * converters serves both), as ranges of the socket's own chunks (copy-data-framer.ts).
 *
 * The protocol hand-over is pg-copy-streams': the query takes pg's `data` listener off the socket while the COPY runs,
 * and gives the bytes from CopyDone (or an ErrorResponse) on back to pg, which then ends the query as usual.
 *
 * Backpressure: the socket is paused while MAX_QUEUED_BYTES of its chunks wait for the consumer, so a table is never
 * held in memory. Abort cancels the query on the server at once (`pg_cancel_backend` from a second connection —
 * closing our socket alone leaves the backend running until it next writes), then closes the client's socket: an
 * aborted client is finished. The socket must go because, paused for backpressure, the server's error reply would
 * never be read, the query never end, and every later query on the client (the snapshot's COMMIT) would wait forever.
 */
import pg from 'pg'
import { backendPid, cancelBackend, settledWithin, socketOf } from '../../../util/pg-connection-ending.js'
import { CopyDataFramer, type CopyRows } from './copy-data-framer.js'

export type { CopyRows }

/** Socket chunks waiting for the consumer before the socket is paused. */
const MAX_QUEUED_BYTES = 512 * 1024

interface Socket {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown
  removeListener(event: 'data', listener: (chunk: Buffer) => void): unknown
  listeners(event: 'data'): Array<(chunk: Buffer) => void>
  pause(): unknown
  resume(): unknown
  destroy(): void
}

/** The part of pg's Connection a submittable sees. */
interface Connection {
  stream: Socket
  query(text: string): void
}

/**
 * A pg submittable (`client.query(new CopyOutQuery(sql))`) that runs `COPY (sql) TO STDOUT` and is read with
 * `rows()`, once.
 */
class CopyOutQuery {
  private socket: Socket | null = null
  private pgListener: ((chunk: Buffer) => void) | null = null
  private readonly queue: Buffer[] = []
  private queuedBytes = 0
  private paused = false
  /** Set when the COPY ended: pg has the socket back. */
  private detached = false
  private error: Error | null = null
  private wake: (() => void) | null = null
  private readonly framer = new CopyDataFramer()
  private readonly onData = (chunk: Buffer) => {
    this.queue.push(chunk)
    this.queuedBytes += chunk.length
    if (this.queuedBytes >= MAX_QUEUED_BYTES && !this.paused) {
      this.paused = true
      this.socket?.pause()
    }
    this.notify()
  }

  constructor(private readonly text: string) {}

  /** Called by pg when the query's turn comes. */
  submit(connection: Connection): void {
    const socket = connection.stream
    const listeners = socket.listeners('data')
    if (listeners.length !== 1) throw new Error(`expected pg's one data listener on its socket, found ${listeners.length}`)
    this.socket = socket
    this.pgListener = listeners[0]
    socket.removeListener('data', this.pgListener)
    socket.on('data', this.onData)
    connection.query(this.text)
  }

  /** pg: the query failed (an ErrorResponse we handed back, or the connection failed). */
  handleError(error: Error): void {
    this.fail(error)
  }

  handleCommandComplete(): void {}

  handleReadyForQuery(): void {}

  /** Whether the query is over: the server ended the COPY (CopyDone, an error) or the connection failed. */
  get over(): boolean {
    return this.detached || this.error !== null
  }

  fail(error: Error): void {
    this.error ??= error
    this.notify()
  }

  /** The rows, a socket chunk's worth at a time; each yielded value is valid until the next is asked for. */
  async *rows(): AsyncGenerator<CopyRows> {
    for (;;) {
      if (this.error) throw this.error
      const chunk = this.queue.shift()
      if (chunk === undefined) {
        if (this.detached) return
        await new Promise<void>((resolve) => {
          this.wake = resolve
        })
        continue
      }
      this.queuedBytes -= chunk.length
      if (this.paused && this.queuedBytes < MAX_QUEUED_BYTES / 2) {
        this.paused = false
        this.socket?.resume()
      }
      // pg gets its bytes back as soon as the end is found, before the last rows are handed on: a consumer that
      // stops after them leaves a finished query, not one to cancel.
      for (const rows of this.framer.push(chunk)) {
        this.detachAtEnd()
        yield rows
      }
      this.detachAtEnd()
    }
  }

  private detachAtEnd(): void {
    if (this.framer.rest !== null && !this.detached) this.detach(this.framer.rest)
  }

  /** Gives the socket back to pg with the bytes it has not seen, in order: `first`, then the queued chunks. */
  private detach(first: Buffer[]): void {
    const socket = this.socket as Socket
    const pgListener = this.pgListener as (chunk: Buffer) => void
    this.detached = true
    socket.removeListener('data', this.onData)
    socket.on('data', pgListener)
    const unseen = [...first, ...this.queue.splice(0)]
    this.queuedBytes = 0
    for (const bytes of unseen) if (bytes.length > 0) pgListener(bytes)
    if (this.paused) {
      this.paused = false
      socket.resume()
    }
  }

  private notify(): void {
    const wake = this.wake
    this.wake = null
    wake?.()
  }
}

/** Yields the query's rows, a socket chunk's worth at a time (see CopyRows). */
export async function* copyRows(
  client: pg.Client,
  query: string,
  options: { signal: AbortSignal; cancelConfig: pg.ClientConfig },
): AsyncGenerator<CopyRows> {
  const copy = new CopyOutQuery(`COPY (${query}) TO STDOUT`)
  client.query(copy as unknown as pg.Submittable)
  const cancel = () => {
    // The cancel first, so a backend waiting on a lock stops too; not for longer than the grace, so a server that
    // does not answer cannot hold the stop.
    void settledWithin(cancelBackend(options.cancelConfig, backendPid(client))).then(() => {
      copy.fail(new Error('snapshot query cancelled'))
      socketOf(client)?.destroy()
    })
  }
  options.signal.addEventListener('abort', cancel, { once: true })
  try {
    yield* copy.rows()
  } finally {
    options.signal.removeEventListener('abort', cancel)
    // The consumer stopped early (it threw, or returned): the query still runs and nobody reads it, so every later
    // query on this client (the snapshot's COMMIT) would wait forever and hide the error. End it as an abort does.
    // Not when the server ended it: a cancel then would hit whatever the client runs next.
    if (!copy.over && !options.signal.aborted) cancel()
  }
}
