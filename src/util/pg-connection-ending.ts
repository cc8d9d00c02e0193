/**
 * Ending PostgreSQL connections (a source's, a destination's, the metadata store's) without waiting on the server for
 * long. A database that stops answering (a hung host, a network that drops packets without resetting
 * connections) must not hang a restart, a pause or `stop_blocking_snapshot`: pg's `end()` waits for the server to
 * close its side of the connection, and a cancel needs a new connection to the server. Each gets CLOSE_GRACE_MS;
 * then the socket is dropped, which is what a closed connection means to the backend anyway (it ends its work as
 * soon as it runs again).
 */
import pg from 'pg'

/** How long a stop waits for the server's part in ending a connection (a cancel, a goodbye). */
export const CLOSE_GRACE_MS = 1000

/** Resolves once `work` settles or `ms` have passed, whichever is first; never rejects. */
export function settledWithin(work: Promise<unknown>, ms = CLOSE_GRACE_MS): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    const done = () => {
      clearTimeout(timer)
      resolve()
    }
    work.then(done, done)
  })
}

/** The client's socket: pg keeps it as `connection.stream` and has no public way to drop a connection. */
export function socketOf(client: pg.Client): { destroy(): void } | undefined {
  return (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream
}

/** The server process of `client` (from BackendKeyData at connect; @types/pg does not declare it). */
export function backendPid(client: pg.Client): number | undefined {
  return (client as unknown as { processID?: number }).processID
}

/** Ends `client`: politely when the server answers within the grace, else by dropping its socket. */
export async function endClient(client: pg.Client): Promise<void> {
  await settledWithin(client.end())
  socketOf(client)?.destroy()
}

/** Asks the server to cancel what backend `pid` runs (`pg_cancel_backend`, on a connection of its own). Best effort. */
export async function cancelBackend(config: pg.ClientConfig, pid: number | undefined): Promise<void> {
  if (!pid) return
  const other = new pg.Client(config)
  other.on('error', () => undefined)
  try {
    await other.connect()
    await other.query('SELECT pg_cancel_backend($1)', [pid])
  } catch {
    // Closing the connection whose query it was ends that query too, a little later.
  } finally {
    await endClient(other)
  }
}
