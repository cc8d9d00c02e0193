/**
 * Inspecting and dropping replication slots over an ordinary SQL connection (creation happens on the replication
 * connection, which can export a snapshot). Dropping is how Sluice keeps DESIGN.md guarantee 6: no abandoned slot
 * holds WAL forever. No streaming here, so nothing to back-pressure; every function is safe to retry after a crash.
 */
import { ConnectorError } from '../../connector-error.js'
import { type Lsn, parseLsn } from './lsn.js'
import { queryRows, type SqlClient } from './sql.js'

export interface SlotInfo {
  name: string
  plugin: string | null
  database: string | null
  active: boolean
  activePid: number | null
  restartLsn: Lsn | null
  confirmedFlushLsn: Lsn | null
  /** WAL the server keeps because of this slot: `pg_current_wal_lsn() - restart_lsn` (null on a standby). */
  retainedWalBytes: bigint | null
}

export const DEFAULT_DROP_TIMEOUT_MS = 10_000
/** PostgreSQL's own rule (ReplicationSlotValidateName): lower-case letters, digits and underscores, ≤ 63 bytes. */
const SLOT_NAME = /^[a-z0-9_]{1,63}$/

/** Rejects a slot name PostgreSQL would refuse, with a message that says why (it only says "syntax error"). */
export function assertSlotName(name: string): void {
  if (!SLOT_NAME.test(name)) {
    throw new ConnectorError(
      'config',
      `invalid replication slot name ${JSON.stringify(name)}: use only lower-case letters, digits and underscores ` +
        `(at most 63)`,
      { retriable: false },
    )
  }
}
const DROP_POLL_MS = 20

interface SlotRow {
  slot_name: string
  plugin: string | null
  database: string | null
  active: boolean
  active_pid: number | null
  restart_lsn: string | null
  confirmed_flush_lsn: string | null
  retained: string | null
}

export async function getSlot(client: SqlClient, name: string): Promise<SlotInfo | null> {
  const [row] = await queryRows<SlotRow>(
    client,
    `SELECT slot_name, plugin, database, active, active_pid, restart_lsn::text, confirmed_flush_lsn::text,
            CASE WHEN pg_is_in_recovery() THEN NULL
                 ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text END AS retained
       FROM pg_replication_slots WHERE slot_name = $1`,
    [name],
  )
  if (!row) return null
  return {
    name: row.slot_name,
    plugin: row.plugin,
    database: row.database,
    active: row.active,
    activePid: row.active_pid,
    restartLsn: row.restart_lsn === null ? null : parseLsn(row.restart_lsn),
    confirmedFlushLsn: row.confirmed_flush_lsn === null ? null : parseLsn(row.confirmed_flush_lsn),
    retainedWalBytes: row.retained === null ? null : BigInt(row.retained.split('.')[0]),
  }
}

/**
 * Drops a slot, first terminating the walsender that holds it and waiting until it lets go. Returns false when there
 * was no slot (idempotent). Throws a retriable `ConnectorError` if the slot is still held after `timeoutMs`.
 */
export async function dropSlot(
  client: SqlClient,
  name: string,
  options: { timeoutMs?: number } = {},
): Promise<boolean> {
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_DROP_TIMEOUT_MS)
  for (;;) {
    const slot = await getSlot(client, name)
    if (!slot) return false
    if (!slot.active) {
      try {
        await client.query('SELECT pg_drop_replication_slot($1)', [name])
        return true
      } catch (error) {
        const code = (error as { code?: string }).code
        if (code === '42704') return false // dropped by someone else meanwhile
        if (code !== '55006') throw error // 55006: re-acquired meanwhile; terminate again
      }
    } else if (slot.activePid !== null) {
      await client.query('SELECT pg_terminate_backend($1)', [slot.activePid])
    }
    if (Date.now() > deadline) {
      throw new ConnectorError('slot_in_use', `replication slot "${name}" is still in use by PID ${slot.activePid}`, {
        retriable: true,
      })
    }
    await new Promise((resolve) => setTimeout(resolve, DROP_POLL_MS))
  }
}
