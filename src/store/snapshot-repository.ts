/**
 * Snapshot runs. `save` merges rather than overwrites: a status or table cancellation written by a user (through
 * the API) always wins over a connector's progress update racing with it, and `paused` is owned by the API.
 */
import type { Kysely } from 'kysely'
import type { Database, SnapshotTable } from './schema.js'

export interface StoredTable {
  topic: string
  schema: string
  table: string
  status: string
  rowsRead: number
  rowsEstimated: number | null
  cursor: unknown | null
  startedAt: string | null
  endedAt: string | null
}

export interface StoredSnapshot {
  id: string
  sourceId: string
  type: string
  status: string
  paused: boolean
  reason: string | null
  tables: StoredTable[]
  options: object
  createdAt: string
  startedAt: string | null
  endedAt: string | null
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled'])

function fromRow(row: SnapshotTable): StoredSnapshot {
  return {
    id: row.id,
    sourceId: row.source_id,
    type: row.type,
    status: row.status,
    paused: Number(row.paused) === 1,
    reason: row.reason,
    tables: JSON.parse(row.tables) as StoredTable[],
    options: JSON.parse(row.options) as object,
    createdAt: row.created_at,
    startedAt: row.started_at,
    endedAt: row.ended_at,
  }
}

function toRow(s: StoredSnapshot): SnapshotTable {
  return {
    id: s.id,
    source_id: s.sourceId,
    type: s.type,
    status: s.status,
    paused: s.paused ? 1 : 0,
    reason: s.reason,
    tables: JSON.stringify(s.tables),
    options: JSON.stringify(s.options),
    created_at: s.createdAt,
    started_at: s.startedAt,
    ended_at: s.endedAt,
    updated_at: new Date().toISOString(),
  }
}

export function createSnapshotRepository(db: Kysely<Database>) {
  return {
    async insert(snapshot: StoredSnapshot): Promise<void> {
      await db.insertInto('snapshots').values(toRow(snapshot)).execute()
    },
    async get(id: string): Promise<StoredSnapshot | null> {
      const row = await db.selectFrom('snapshots').selectAll().where('id', '=', id).executeTakeFirst()
      return row ? fromRow(row) : null
    },
    async forSource(sourceId: string, statuses?: string[]): Promise<StoredSnapshot[]> {
      let q = db.selectFrom('snapshots').selectAll().where('source_id', '=', sourceId)
      if (statuses?.length) q = q.where('status', 'in', statuses)
      return (await q.orderBy('created_at').orderBy('id').execute()).map(fromRow)
    },
    /** The connector's progress update, merged with what users changed meanwhile. */
    async saveProgress(update: StoredSnapshot): Promise<StoredSnapshot> {
      return db.transaction().execute(async (tx) => {
        const row = await tx.selectFrom('snapshots').selectAll().where('id', '=', update.id).executeTakeFirst()
        if (!row) return update
        const stored = fromRow(row)
        const merged: StoredSnapshot = {
          ...update,
          paused: stored.paused,
          status: TERMINAL.has(stored.status) ? stored.status : update.status,
          reason: TERMINAL.has(stored.status) ? stored.reason : update.reason,
          endedAt: TERMINAL.has(stored.status) ? stored.endedAt : update.endedAt,
          tables: update.tables.map((t) => {
            const before = stored.tables.find((s) => s.topic === t.topic)
            return before?.status === 'cancelled' ? { ...t, status: 'cancelled', endedAt: before.endedAt ?? t.endedAt } : t
          }),
        }
        await tx.updateTable('snapshots').set(toRow(merged)).where('id', '=', update.id).execute()
        return merged
      })
    },
    /**
     * A user's change (cancel, pause, resume), made to the run as it is stored now: the connector's progress saved
     * since the caller read the run (rows read, a chunk's cursor) is kept, not overwritten with what was read.
     */
    async change(id: string, apply: (stored: StoredSnapshot) => StoredSnapshot): Promise<StoredSnapshot | null> {
      return db.transaction().execute(async (tx) => {
        const row = await tx.selectFrom('snapshots').selectAll().where('id', '=', id).executeTakeFirst()
        if (!row) return null
        const changed = apply(fromRow(row))
        await tx.updateTable('snapshots').set(toRow(changed)).where('id', '=', id).execute()
        return changed
      })
    },
    async latestStatusBySource(): Promise<Map<string, string>> {
      const rows = await db.selectFrom('snapshots').select(['source_id', 'status', 'created_at', 'id']).orderBy('created_at').orderBy('id').execute()
      const latest = new Map<string, string>()
      for (const row of rows) latest.set(row.source_id, row.status)
      return latest
    },
    async deleteForSource(sourceId: string): Promise<void> {
      await db.deleteFrom('snapshots').where('source_id', '=', sourceId).execute()
    },
  }
}

export type SnapshotRepository = ReturnType<typeof createSnapshotRepository>
