/** Destination rows: the same columns and queries as sources (see source-repository.ts). */
import type { Kysely } from 'kysely'
import type { Database } from './schema.js'
import { type SourceListQuery, type SourceRow, createEntityRepository } from './source-repository.js'

export type DestinationRow = SourceRow
export type DestinationListQuery = SourceListQuery

export function createDestinationRepository(db: Kysely<Database>) {
  return createEntityRepository(db, 'destinations')
}

export type DestinationRepository = ReturnType<typeof createDestinationRepository>
