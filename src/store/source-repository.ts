/**
 * Source and destination rows (the same columns): the entity, its desired state, and the status the runtime reports.
 * One implementation serves both tables.
 */
import type { Kysely } from 'kysely'
import { createQueryCache } from './db.js'
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

/** The list filters as values: empty lists and a null pattern filter nothing. */
interface Filters {
  ids: readonly string[]
  connectors: readonly string[]
  statuses: readonly string[]
  pattern: string | null
}

function filtersOf(query: Omit<SourceListQuery, 'sort' | 'sortDir' | 'offset' | 'limit'>): Filters {
  return {
    ids: query.ids ?? [],
    connectors: query.connectors ?? [],
    statuses: query.statuses ?? [],
    pattern: query.partialName ? `%${query.partialName.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null,
  }
}

export function createSourceRepository(db: Kysely<Database>) {
  return createEntityRepository(db, 'sources')
}

/**
 * `table` names `sources` or `destinations`; both are `SourceTable` rows, so the queries are typed against
 * `sources` and run against either.
 */
export function createEntityRepository(db: Kysely<Database>, table: 'sources' | 'destinations') {
  const queries = createQueryCache(db)
  const name = table as 'sources'

  function filtered(f: Filters) {
    let q = db.selectFrom(name)
    if (f.ids.length) q = q.where('id', 'in', f.ids)
    if (f.connectors.length) q = q.where('connector', 'in', f.connectors)
    if (f.statuses.length) q = q.where('connector_status', 'in', f.statuses)
    const pattern = f.pattern
    if (pattern !== null) q = q.where((eb) => eb(eb.fn('lower', ['name']), 'like', eb.val(pattern)))
    return q
  }

  return {
    async insert(row: SourceRow): Promise<void> {
      await db.insertInto(name).values(row).execute()
    },
    async update(id: string, changes: Partial<Omit<SourceRow, 'id'>>): Promise<void> {
      await db.updateTable(name).set(changes).where('id', '=', id).execute()
    },
    async get(id: string): Promise<SourceRow | undefined> {
      return db.selectFrom(name).selectAll().where('id', '=', id).executeTakeFirst()
    },
    async getByName(entityName: string): Promise<SourceRow | undefined> {
      return db.selectFrom(name).selectAll().where('name', '=', entityName).executeTakeFirst()
    },
    async delete(id: string): Promise<void> {
      await db.deleteFrom(name).where('id', '=', id).execute()
    },
    async all(): Promise<SourceRow[]> {
      return db.selectFrom(name).selectAll().orderBy('created_at').execute()
    },
    /** The hot path of `GET /sources` (and `/destinations`): both queries are compiled once per filter shape (see createQueryCache). */
    async list(query: SourceListQuery): Promise<{ rows: SourceRow[]; total: number }> {
      const f = filtersOf(query)
      const shape = `${f.ids.length},${f.connectors.length},${f.statuses.length},${f.pattern === null ? 0 : 1}`
      const values: unknown[] = [...f.ids, ...f.connectors, ...f.statuses, ...(f.pattern === null ? [] : [f.pattern])]
      const rebuild = (v: readonly unknown[]): Filters => {
        let at = 0
        const take = (n: number) => v.slice(at, (at += n)) as string[]
        return { ids: take(f.ids.length), connectors: take(f.connectors.length), statuses: take(f.statuses.length), pattern: f.pattern === null ? null : (v[at] as string) }
      }
      const counted = await queries.rows(`${table}.count:${shape}`, values, (v) =>
        filtered(rebuild(v)).select((eb) => eb.fn.countAll().as('n')),
      )
      const rows = await queries.rows(`${table}.page:${shape}:${query.sort}:${query.sortDir}`, [...values, query.offset, query.limit], (v) =>
        filtered(rebuild(v))
          .selectAll()
          .orderBy(query.sort, query.sortDir)
          .orderBy('id', query.sortDir)
          .offset(v[v.length - 2] as number)
          .limit(v[v.length - 1] as number),
      )
      return { rows, total: Number(counted[0]?.n ?? 0) }
    },
  }
}

export type SourceRepository = ReturnType<typeof createEntityRepository>
