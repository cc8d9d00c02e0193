/**
 * Heartbeats: a non-transactional logical decoding message (`pg_logical_emit_message(false, …)`). It is decoded
 * and streamed at once, even when no captured table changes, so the streaming phase sees traffic, can acknowledge
 * it, and the slot's position advances instead of pinning WAL (the "idle database" WAL growth problem). A lost
 * heartbeat is harmless; the next one does the same job.
 */
import { type Lsn, parseLsn } from './lsn.js'
import { queryRows, type SqlClient } from './sql.js'

export const DEFAULT_HEARTBEAT_PREFIX = 'sluice_heartbeat'

/** Emits one heartbeat and returns the LSN of its WAL record. */
export async function emitHeartbeat(client: SqlClient, prefix: string = DEFAULT_HEARTBEAT_PREFIX): Promise<Lsn> {
  const content = JSON.stringify({ ts_ms: Date.now() })
  const [row] = await queryRows<{ lsn: string }>(
    client,
    'SELECT pg_logical_emit_message(false, $1, $2)::text AS lsn',
    [prefix, content],
  )
  return parseLsn(row.lsn)
}
