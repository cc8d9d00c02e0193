/** Each source's durable position (its offset), written after the events up to it are durable in the log. */
import type { Kysely } from 'kysely'
import type { Database } from './schema.js'

export function createOffsetRepository(db: Kysely<Database>) {
  return {
    async load(sourceId: string): Promise<unknown | null> {
      const row = await db.selectFrom('source_offsets').select('offset').where('source_id', '=', sourceId).executeTakeFirst()
      return row ? JSON.parse(row.offset) : null
    },
    async save(sourceId: string, offset: unknown): Promise<void> {
      const values = { source_id: sourceId, offset: JSON.stringify(offset), updated_at: new Date().toISOString() }
      await db
        .insertInto('source_offsets')
        .values(values)
        .onConflict((oc) => oc.column('source_id').doUpdateSet({ offset: values.offset, updated_at: values.updated_at }))
        .execute()
    },
    async delete(sourceId: string): Promise<void> {
      await db.deleteFrom('source_offsets').where('source_id', '=', sourceId).execute()
    },
  }
}

export type OffsetRepository = ReturnType<typeof createOffsetRepository>
