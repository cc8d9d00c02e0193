/**
 * Helpers for the destination suites: a PostgreSQL destination and a pipeline created through the API, and the
 * destination-equals-source check (the target keeps Debezium's JSON types, so integers come back as bigint: the
 * comparison casts them).
 */
import type { DestinationWriter } from '../../../src/connectors/destinations/destination.js'
import { postgresqlDestination } from '../../../src/connectors/destinations/postgresql/postgresql-destination.js'
import type { ApiClient } from '../../harness/api-client.js'
import type { TestPostgres } from '../../harness/postgres.js'
import { waitFor } from '../../harness/wait-for.js'
import { tableRows } from '../../harness/workload.js'

let counter = 0

export function pgDestinationConfig(pg: TestPostgres, database: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'database.hostname': '127.0.0.1',
    'database.port': pg.port,
    'database.user': pg.user,
    'database.password': pg.password,
    'database.dbname': database,
    ...overrides,
  }
}

/** A `postgresql` destination writer on `database`, fed records directly (no pipeline); `opened` collects it to close. */
export async function openPostgresqlWriter(pg: TestPostgres, database: string, config: Record<string, unknown>, opened: DestinationWriter[]): Promise<DestinationWriter> {
  const silent = { info() {}, warn() {}, error() {}, debug() {} }
  const writer = await postgresqlDestination.open({ destinationId: 'd1', logger: silent, config: pgDestinationConfig(pg, database, config) })
  opened.push(writer)
  return writer
}

/**
 * Which statement applied a step, read from the target itself: a statement-level trigger on each logged table records
 * `current_query()` into a `statements` table, so nothing is mocked. `install` once per database, then `table` creates
 * a logged table and `statements` lists what inserted into it, in order (`COPY`, `INSERT`…).
 */
export function statementLog(pg: TestPostgres, database: string) {
  return {
    async install(): Promise<void> {
      await pg.query('CREATE TABLE statements (n serial PRIMARY KEY, tbl text, query text)', [], database)
      await pg.query(
        `CREATE FUNCTION log_statement() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN INSERT INTO statements (tbl, query) VALUES (TG_TABLE_NAME, current_query()); RETURN NULL; END $$`,
        [],
        database,
      )
    },
    async table(name: string, columns: string, schema = 'public'): Promise<void> {
      await pg.query(`CREATE TABLE ${schema}.${name} ${columns}`, [], database)
      await pg.query(`CREATE TRIGGER ${name}_log AFTER INSERT ON ${schema}.${name} FOR EACH STATEMENT EXECUTE FUNCTION log_statement()`, [], database)
    },
    async statements(table: string): Promise<string[]> {
      const { rows } = await pg.query('SELECT query FROM statements WHERE tbl = $1 ORDER BY n', [table], database)
      return rows.map((r) => (String(r.query).startsWith('COPY') ? 'COPY' : String(r.query).split(' ')[0]))
    },
  }
}

export async function createDestination(api: ApiClient, config: Record<string, unknown>): Promise<string> {
  const res = await api.request('POST', '/destinations', { name: `dst-${process.pid}-${++counter}`, connector: 'postgresql', config })
  if (res.status !== 200) throw new Error(`create destination: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.id as string
}

export async function createPipeline(api: ApiClient, sourceId: string, destinationId: string, topics?: string[]): Promise<string> {
  const res = await api.request('POST', '/pipelines', {
    name: `pipe-${process.pid}-${++counter}`,
    source: { id: sourceId, topics },
    destination: { id: destinationId },
  })
  if (res.status !== 200) throw new Error(`create pipeline: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.id as string
}

/** The workload table's rows in the target, shaped like the source's. */
export async function targetRows(pg: TestPostgres, database: string, table: string): Promise<Array<Record<string, unknown>>> {
  try {
    const sql = `SELECT id::int AS id, version::int AS version, payload FROM public.${table} ORDER BY id`
    return (await pg.query(sql, [], database)).rows
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') return [] // not created yet
    throw err
  }
}

/** Waits until the target table equals the source table row for row, and returns the rows. */
export async function waitForEqualTables(options: {
  source: TestPostgres
  target: TestPostgres
  database: string
  table: string
  timeoutMs?: number
}): Promise<Array<Record<string, unknown>>> {
  const expected = await tableRows(options.source, options.table)
  await waitFor(
    async () => {
      const rows = await targetRows(options.target, options.database, options.table)
      return { same: JSON.stringify(rows) === JSON.stringify(expected), target: rows.length, source: expected.length }
    },
    (v) => v.same,
    { timeoutMs: options.timeoutMs ?? 120_000, intervalMs: 200, message: `target ${options.table} equals source` },
  )
  return expected
}
