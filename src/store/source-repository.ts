/** Source rows: the entity, its desired state, and the status the runtime reports. */
import type { Kysely } from 'kysely'
import type { Database, SourceTable } from './schema.js'

export type SourceRow = SourceTable

export interface SourceListQuery {
  ids?: string[]
  partialName?: string
  connectors?: string[]
  statuses?: string[]
  sort: 'name' | 'created_at' | 'connector_status'
  sortDir: 'asc' | 'desc'
  offset: number
  limit: number
}

export function createSourceRepository(db: Kysely<Database>) {
  function filtered(query: Omit<SourceListQuery, 'sort' | 'sortDir' | 'offset' | 'limit'>) {
    let q = db.selectFrom('sources')
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
    async insert(row: SourceRow): Promise<void> {
      await db.insertInto('sources').values(row).execute()
    },
    async update(id: string, changes: Partial<Omit<SourceRow, 'id'>>): Promise<void> {
      await db.updateTable('sources').set(changes).where('id', '=', id).execute()
    },
    async get(id: string): Promise<SourceRow | undefined> {
      return db.selectFrom('sources').selectAll().where('id', '=', id).executeTakeFirst()
    },
    async getByName(name: string): Promise<SourceRow | undefined> {
      return db.selectFrom('sources').selectAll().where('name', '=', name).executeTakeFirst()
    },
    async delete(id: string): Promise<void> {
      await db.deleteFrom('sources').where('id', '=', id).execute()
    },
    async all(): Promise<SourceRow[]> {
      return db.selectFrom('sources').selectAll().orderBy('created_at').execute()
    },
    async list(query: SourceListQuery): Promise<{ rows: SourceRow[]; total: number }> {
      const countRow = await filtered(query).select((eb) => eb.fn.countAll().as('n')).executeTakeFirst()
      const rows = await filtered(query)
        .selectAll()
        .orderBy(query.sort, query.sortDir)
        .orderBy('id', query.sortDir)
        .offset(query.offset)
        .limit(query.limit)
        .execute()
      return { rows, total: Number(countRow?.n ?? 0) }
    },
  }
}

export type SourceRepository = ReturnType<typeof createSourceRepository>
