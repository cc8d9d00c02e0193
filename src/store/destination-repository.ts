/** Destination rows: the entity, its desired state, and the status the runtime reports. */
import type { Kysely } from 'kysely'
import type { Database, DestinationTable } from './schema.js'

export type DestinationRow = DestinationTable

export interface DestinationListQuery {
  ids?: string[]
  partialName?: string
  connectors?: string[]
  statuses?: string[]
  sort: 'name' | 'created_at' | 'connector_status'
  sortDir: 'asc' | 'desc'
  offset: number
  limit: number
}

export function createDestinationRepository(db: Kysely<Database>) {
  function filtered(query: DestinationListQuery) {
    let q = db.selectFrom('destinations')
    if (query.ids?.length) q = q.where('id', 'in', query.ids)
    if (query.connectors?.length) q = q.where('connector', 'in', query.connectors)
    if (query.statuses?.length) q = q.where('connector_status', 'in', query.statuses)
    if (query.partialName) {
      const pattern = `%${query.partialName.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`
      q = q.where((eb) => eb(eb.fn('lower', ['name']), 'like', eb.val(pattern)))
    }
    return q
  }

  return {
    async insert(row: DestinationRow): Promise<void> {
      await db.insertInto('destinations').values(row).execute()
    },
    async update(id: string, changes: Partial<Omit<DestinationRow, 'id'>>): Promise<void> {
      await db.updateTable('destinations').set(changes).where('id', '=', id).execute()
    },
    async get(id: string): Promise<DestinationRow | undefined> {
      return db.selectFrom('destinations').selectAll().where('id', '=', id).executeTakeFirst()
    },
    async getByName(name: string): Promise<DestinationRow | undefined> {
      return db.selectFrom('destinations').selectAll().where('name', '=', name).executeTakeFirst()
    },
    async delete(id: string): Promise<void> {
      await db.deleteFrom('destinations').where('id', '=', id).execute()
    },
    async all(): Promise<DestinationRow[]> {
      return db.selectFrom('destinations').selectAll().orderBy('created_at').execute()
    },
    async list(query: DestinationListQuery): Promise<{ rows: DestinationRow[]; total: number }> {
      const counted = await filtered(query).select((eb) => eb.fn.countAll().as('n')).executeTakeFirst()
      const rows = await filtered(query)
        .selectAll()
        .orderBy(query.sort, query.sortDir)
        .orderBy('id', query.sortDir)
        .offset(query.offset)
        .limit(query.limit)
        .execute()
      return { rows, total: Number(counted?.n ?? 0) }
    },
  }
}

export type DestinationRepository = ReturnType<typeof createDestinationRepository>
