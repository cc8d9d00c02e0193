/**
 * Streams the rows of a query with `COPY (…) TO STDOUT` (text format, the same text pgoutput sends, so one set of
 * converters serves both). Backpressure: rows are read as the consumer iterates; the COPY stream pauses the socket
 * when its buffer is full, so a table is never held in memory. Abort cancels the query on the server at once
 * (`pg_cancel_backend` from a second connection — closing our socket alone leaves the backend running until it next
 * writes), then closes the client's socket: an aborted client is finished. The socket must go because the destroyed
 * COPY stream no longer reads it; if it was paused for backpressure, the server's error reply is never read, the
 * query never ends, and every later query on the client (the snapshot's COMMIT) would wait forever.
 */
import pg from 'pg'
import { to as copyTo } from 'pg-copy-streams'

const NEWLINE = 0x0a

/**
 * Yields the query's rows as buffers of whole lines, each line a row ending in a newline (COPY escapes newlines in
 * values): a promise per chunk received rather than per row, and no text decoding — CopyRowEncoder reads the bytes.
 */
export async function* copyLines(
  client: pg.Client,
  query: string,
  options: { signal: AbortSignal; cancelConfig: pg.ClientConfig },
): AsyncGenerator<Buffer> {
  const stream = client.query(copyTo(`COPY (${query}) TO STDOUT`))
  const cancel = () => {
    void cancelBackend(options.cancelConfig, client).finally(() => {
      stream.destroy(new Error('snapshot query cancelled'))
      socketOf(client)?.destroy()
    })
  }
  options.signal.addEventListener('abort', cancel, { once: true })
  // A chunk may end inside a row; the row's start is carried over, in pieces joined once the row is complete (a row
  // of many megabytes spans hundreds of chunks, and joining at every chunk would copy it that many times).
  let pending: Buffer[] = []
  let ended = false
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const last = chunk.lastIndexOf(NEWLINE)
      if (last < 0) {
        pending.push(chunk)
        continue
      }
      const lines = chunk.subarray(0, last + 1)
      yield pending.length === 0 ? lines : Buffer.concat([...pending, lines])
      pending = last + 1 < chunk.length ? [chunk.subarray(last + 1)] : []
    }
    ended = true
    if (pending.length > 0) yield Buffer.concat([...pending, Buffer.of(NEWLINE)])
  } finally {
    options.signal.removeEventListener('abort', cancel)
    // The consumer stopped early (it threw, or returned): the query still runs and nobody reads it, so every later
    // query on this client (the snapshot's COMMIT) would wait forever and hide the error. End it as an abort does.
    if (!ended && !options.signal.aborted) cancel()
  }
}

/** The client's socket (pg keeps it as `connection.stream`, which pg-copy-streams relies on as well). */
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
