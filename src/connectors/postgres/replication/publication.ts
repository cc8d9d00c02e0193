/**
 * The publication that decides which tables' changes pgoutput streams. Sluice creates it (`FOR TABLE` the include
 * list, or `FOR ALL TABLES`) and, when it manages it, keeps its table set in sync (`ALTER PUBLICATION … SET TABLE`,
 * Debezium's `filtered` mode); a publication Sluice does not manage is never altered, a mismatch is an error.
 * Changes run in one transaction, so a crash leaves either the old or the new table set.
 */
import { ConnectorError } from '../../connector-error.js'
import {
  compareTables,
  formatTable,
  queryRows,
  quoteIdent,
  quoteTable,
  type SqlClient,
  type TableName,
} from './sql.js'

export type PublicationTables = TableName[] | 'all'

export type EnsurePublicationResult = 'created' | 'altered' | 'unchanged'

export interface EnsurePublicationOptions {
  /** Sluice owns this publication and may alter it to match `tables` (default true). */
  manage?: boolean
}

/** The tables of a publication in (schema, table) order, `'all'` for `FOR ALL TABLES`, null when it is missing. */
export async function publicationTables(client: SqlClient, name: string): Promise<PublicationTables | null> {
  const [publication] = await queryRows<{ puballtables: boolean }>(
    client,
    'SELECT puballtables FROM pg_publication WHERE pubname = $1',
    [name],
  )
  if (!publication) return null
  if (publication.puballtables) return 'all'
  const rows = await queryRows<{ schemaname: string; tablename: string }>(
    client,
    'SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1',
    [name],
  )
  return rows.map((r) => ({ schema: r.schemaname, table: r.tablename })).sort(compareTables)
}

export async function ensurePublication(
  client: SqlClient,
  name: string,
  tables: PublicationTables,
  options: EnsurePublicationOptions = {},
): Promise<EnsurePublicationResult> {
  const wanted = tables === 'all' ? 'all' : dedupe(tables)
  const current = await publicationTables(client, name)
  if (current === null) {
    await client.query(createSql(name, wanted))
    return 'created'
  }
  if (sameTables(current, wanted)) return 'unchanged'
  if (options.manage === false) {
    throw new ConnectorError(
      'publication',
      `publication "${name}" publishes ${describe(current)} but the source captures ${describe(wanted)}; ` +
        `alter it to match, or let Sluice manage it`,
      { retriable: false },
    )
  }
  await inTransaction(client, async () => {
    if (wanted === 'all' || current === 'all') {
      // FOR ALL TABLES cannot be switched on or off by ALTER.
      await client.query(`DROP PUBLICATION ${quoteIdent(name)}`)
      await client.query(createSql(name, wanted))
    } else if (wanted.length === 0) {
      await client.query(`ALTER PUBLICATION ${quoteIdent(name)} DROP TABLE ${current.map(quoteTable).join(', ')}`)
    } else {
      await client.query(`ALTER PUBLICATION ${quoteIdent(name)} SET TABLE ${wanted.map(quoteTable).join(', ')}`)
    }
  })
  return 'altered'
}

/** Drops a publication; false when there was none (idempotent). */
export async function dropPublication(client: SqlClient, name: string): Promise<boolean> {
  const existed = (await publicationTables(client, name)) !== null
  await client.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(name)}`)
  return existed
}

function createSql(name: string, tables: PublicationTables): string {
  if (tables === 'all') return `CREATE PUBLICATION ${quoteIdent(name)} FOR ALL TABLES`
  if (tables.length === 0) return `CREATE PUBLICATION ${quoteIdent(name)}`
  return `CREATE PUBLICATION ${quoteIdent(name)} FOR TABLE ${tables.map(quoteTable).join(', ')}`
}

function dedupe(tables: TableName[]): TableName[] {
  const sorted = [...tables].sort(compareTables)
  return sorted.filter((t, i) => i === 0 || compareTables(sorted[i - 1], t) !== 0)
}

function sameTables(a: PublicationTables, b: PublicationTables): boolean {
  if (a === 'all' || b === 'all') return a === b
  return a.length === b.length && a.every((t, i) => compareTables(t, b[i]) === 0)
}

function describe(tables: PublicationTables): string {
  if (tables === 'all') return 'all tables'
  return tables.length === 0 ? 'no tables' : tables.map(formatTable).join(', ')
}

async function inTransaction(client: SqlClient, work: () => Promise<void>): Promise<void> {
  await client.query('BEGIN')
  try {
    await work()
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw error
  }
}
