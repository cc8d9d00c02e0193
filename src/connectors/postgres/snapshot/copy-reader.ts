/**
 * Streams the rows of a query with `COPY (…) TO STDOUT` (text format, the same text pgoutput sends, so one set of
 * converters serves both). The rows are handed over where they arrived: ranges of the socket's own chunks, one
 * CopyData message per row, with no Buffer, copy or string per row.
 *
 * Hand-written rather than pg-copy-streams' `to`, which this replaced: that stream cuts every CopyData message out
 * of the socket chunk as a Buffer of its own and then joins them into a new buffer. For a snapshot's rows of ~150
 * bytes that was about 0.25 µs a row of the main thread (a tenth of its time) plus the garbage. The protocol
 * hand-over is the same as pg-copy-streams': the query takes pg's `data` listener off the socket while the COPY
 * runs, and gives the bytes from CopyDone (or an ErrorResponse) on back to pg, which then ends the query as usual.
 * Protocol: https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-COPY — during COPY OUT the server
 * sends CopyData messages, each one row, and may intersperse NoticeResponse, ParameterStatus and NotificationResponse.
 *
 * Backpressure: the socket is paused while MAX_QUEUED_BYTES of its chunks wait for the consumer, so a table is never
 * held in memory. Abort cancels the query on the server at once (`pg_cancel_backend` from a second connection —
 * closing our socket alone leaves the backend running until it next writes), then closes the client's socket: an
 * aborted client is finished. The socket must go because, paused for backpressure, the server's error reply would
 * never be read, the query never end, and every later query on the client (the snapshot's COMMIT) would wait forever.
 */
import pg from 'pg'

/** Rows of one COPY chunk: row `r` is `bytes[rows[2r], rows[2r + 1])`, its text without the newline. */
export interface CopyRows {
  bytes: Buffer
  rows: Int32Array
  count: number
}

/** Socket chunks waiting for the consumer before the socket is paused. */
const MAX_QUEUED_BYTES = 512 * 1024
const HEADER = 5
const COPY_DATA = 0x64 // 'd'
const COPY_DONE = 0x63 // 'c'
const ERROR_RESPONSE = 0x45 // 'E'

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
  private done = false
  private error: Error | null = null
  private wake: (() => void) | null = null
  /** An incomplete message carried over from the previous chunk (from its type byte on), in pieces. */
  private carry: Buffer[] = []
  private carried = 0
  /** The carried message's whole length, type byte included; -1 while its header is incomplete. */
  private carriedTotal = -1
  private chunkRows: Int32Array<ArrayBuffer> = new Int32Array(2 * 1024)
  private readonly oneRow = new Int32Array(2)
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

  handleReadyForQuery(): void {
    this.done = true
    this.notify()
  }

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
      yield* this.parse(chunk)
    }
  }

  /** The rows of a chunk: first the message carried into it, if it completes here, then its whole messages. */
  private *parse(chunk: Buffer): Generator<CopyRows> {
    let pos = 0
    if (this.carried > 0) {
      pos = this.extendCarry(chunk)
      if (this.carried < this.carriedTotal || this.carriedTotal < 0) return
      const message = Buffer.concat(this.carry, this.carried)
      this.carry = []
      this.carried = 0
      this.carriedTotal = -1
      if (message[0] === COPY_DATA) {
        this.oneRow[0] = HEADER
        this.oneRow[1] = message.length - 1
        yield { bytes: message, rows: this.oneRow, count: 1 }
      } else if (this.ends(message, 0, chunk.subarray(pos))) {
        return
      }
    }
    let count = 0
    while (pos + HEADER <= chunk.length) {
      const total = messageLength(chunk, pos)
      if (pos + total > chunk.length) break
      if (chunk[pos] === COPY_DATA) {
        if (2 * count + 2 > this.chunkRows.length) this.chunkRows = grow(this.chunkRows)
        this.chunkRows[2 * count] = pos + HEADER
        this.chunkRows[2 * count + 1] = pos + total - 1
        count++
      } else if (this.ends(chunk, pos, null)) {
        if (count > 0) yield { bytes: chunk, rows: this.chunkRows, count }
        return
      }
      pos += total
    }
    if (count > 0) yield { bytes: chunk, rows: this.chunkRows, count }
    if (pos < chunk.length) {
      this.carry = [chunk.subarray(pos)]
      this.carried = chunk.length - pos
      this.carriedTotal = this.carried >= HEADER ? messageLength(chunk, pos) : -1
    }
  }

  /** Adds to the carried message what of it `chunk` holds; returns where the rest of `chunk` starts. */
  private extendCarry(chunk: Buffer): number {
    let pos = 0
    if (this.carriedTotal < 0) {
      pos = Math.min(HEADER - this.carried, chunk.length)
      const head = Buffer.concat([...this.carry, chunk.subarray(0, pos)])
      this.carry = [head]
      this.carried = head.length
      if (this.carried < HEADER) return pos
      this.carriedTotal = messageLength(head, 0)
    }
    const take = Math.min(this.carriedTotal - this.carried, chunk.length - pos)
    this.carry.push(chunk.subarray(pos, pos + take))
    this.carried += take
    return pos + take
  }

  /**
   * For the message at `at` of `bytes` that is not CopyData: whether it ends the COPY (CopyDone or ErrorResponse),
   * in which case pg gets the socket back with everything from there on (`after`: what follows a carried message).
   * Other messages (notices, parameter changes, the CopyOutResponse) are passed over, as pg-copy-streams does.
   */
  private ends(bytes: Buffer, at: number, after: Buffer | null): boolean {
    const type = bytes[at]
    if (type !== COPY_DONE && type !== ERROR_RESPONSE) return false
    // pg parses the error itself (and calls handleError); after CopyDone it reads CommandComplete, ReadyForQuery.
    const rest = type === ERROR_RESPONSE ? bytes.subarray(at) : bytes.subarray(at + messageLength(bytes, at))
    this.detach(after === null ? [rest] : [rest, after])
    return true
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

/** The length of the message at `at`, its type byte included (the length field counts itself, not the type). */
function messageLength(bytes: Buffer, at: number): number {
  return 1 + ((bytes[at + 1] << 24) >>> 0) + (bytes[at + 2] << 16) + (bytes[at + 3] << 8) + bytes[at + 4]
}

function grow(rows: Int32Array): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(rows.length * 2)
  grown.set(rows)
  return grown
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
    void cancelBackend(options.cancelConfig, client).finally(() => {
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

/** The client's socket (pg keeps it as `connection.stream`). */
function socketOf(client: pg.Client): { destroy(): void } | undefined {
  return (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream
}

/** Cancels whatever `client`'s backend is running. */
export async function cancelBackend(config: pg.ClientConfig, client: pg.Client): Promise<void> {
  const pid = (client as unknown as { processID?: number }).processID
  if (!pid) return
  const other = new pg.Client(config)
  other.on('error', () => undefined)
  try {
    await other.connect()
    await other.query('SELECT pg_cancel_backend($1)', [pid])
  } catch {
    // Best effort: closing the snapshot connection ends the query too, a little later.
  } finally {
    await other.end().catch(() => undefined)
  }
}
