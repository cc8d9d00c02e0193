/**
 * Streams the rows of a query with `COPY (…) TO STDOUT` (text format, the same text pgoutput sends, so one set of
 * converters serves both). Backpressure: rows are parsed as the consumer iterates; the COPY stream pauses the socket
 * when its buffer is full, so a table is never held in memory. Abort cancels the query on the server at once
 * (`pg_cancel_backend` from a second connection — closing our socket alone leaves the backend running until it next
 * writes), then closes the client's socket: an aborted client is finished. The socket must go because the destroyed
 * COPY stream no longer reads it; if it was paused for backpressure, the server's error reply is never read, the
 * query never ends, and every later query on the client (the snapshot's COMMIT) would wait forever.
 */
import { StringDecoder } from 'node:string_decoder'
import pg from 'pg'
import { to as copyTo } from 'pg-copy-streams'
import { parseCopyTextRow } from '../types/copy-text.js'

/** Yields the rows of each chunk received as one array: a promise per chunk rather than per row. */
export async function* copyRows(
  client: pg.Client,
  query: string,
  options: { signal: AbortSignal; cancelConfig: pg.ClientConfig },
): AsyncGenerator<Array<Array<string | null>>> {
  const stream = client.query(copyTo(`COPY (${query}) TO STDOUT`))
  const cancel = () => {
    void cancelBackend(options.cancelConfig, client).finally(() => {
      stream.destroy(new Error('snapshot query cancelled'))
      socketOf(client)?.destroy()
    })
  }
  options.signal.addEventListener('abort', cancel, { once: true })
  // A chunk may end inside a multi-byte character; the decoder carries it over. COPY escapes newlines in values.
  const decoder = new StringDecoder('utf8')
  let rest = ''
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const text = rest + decoder.write(chunk)
      const lines = text.split('\n')
      rest = lines.pop() ?? ''
      if (lines.length > 0) yield lines.map(parseCopyTextRow)
    }
    rest += decoder.end()
    if (rest.length > 0) yield [parseCopyTextRow(rest)]
  } finally {
    options.signal.removeEventListener('abort', cancel)
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
