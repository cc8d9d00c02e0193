/** Pipeline rows: which source's topics go to which destination. */
import type { Kysely } from 'kysely'
import type { Database, PipelineTable } from './schema.js'

export type PipelineRow = PipelineTable

export interface PipelineListQuery {
  ids?: string[]
  partialName?: string
  sourceIds?: string[]
  destinationIds?: string[]
  sort: 'name' | 'created_at'
  sortDir: 'asc' | 'desc'
  offset: number
  limit: number
}

export function createPipelineRepository(db: Kysely<Database>) {
  function filtered(query: PipelineListQuery) {
    let q = db.selectFrom('pipelines')
    if (query.ids?.length) q = q.where('id', 'in', query.ids)
    if (query.sourceIds?.length) q = q.where('source_id', 'in', query.sourceIds)
    if (query.destinationIds?.length) q = q.where('destination_id', 'in', query.destinationIds)
    if (query.partialName) {
      const pattern = `%${query.partialName.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`
      q = q.where((eb) => eb(eb.fn('lower', ['name']), 'like', eb.val(pattern)))
    }
    return q
  }

  return {
    async insert(row: PipelineRow): Promise<void> {
      await db.insertInto('pipelines').values(row).execute()
    },
    async update(id: string, changes: Partial<Omit<PipelineRow, 'id'>>): Promise<void> {
      await db.updateTable('pipelines').set(changes).where('id', '=', id).execute()
    },
    async get(id: string): Promise<PipelineRow | undefined> {
      return db.selectFrom('pipelines').selectAll().where('id', '=', id).executeTakeFirst()
    },
    async getByName(name: string): Promise<PipelineRow | undefined> {
      return db.selectFrom('pipelines').selectAll().where('name', '=', name).executeTakeFirst()
    },
    async delete(id: string): Promise<void> {
      await db.deleteFrom('pipelines').where('id', '=', id).execute()
    },
    async all(): Promise<PipelineRow[]> {
      return db.selectFrom('pipelines').selectAll().orderBy('created_at').execute()
    },
    async forSource(sourceId: string): Promise<PipelineRow[]> {
      return db.selectFrom('pipelines').selectAll().where('source_id', '=', sourceId).orderBy('created_at').execute()
    },
    async forDestination(destinationId: string): Promise<PipelineRow[]> {
      return db.selectFrom('pipelines').selectAll().where('destination_id', '=', destinationId).orderBy('created_at').execute()
    },
    async list(query: PipelineListQuery): Promise<{ rows: PipelineRow[]; total: number }> {
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

export type PipelineRepository = ReturnType<typeof createPipelineRepository>
