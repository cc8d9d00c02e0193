/**
 * The narrow SQL port the replication helpers need (slot, publication, preflight, heartbeat), and identifier and
 * literal quoting. Any `pg.Client` or pool client satisfies `SqlClient`; callers outside `replication/` never see
 * `pg` types. No I/O of its own, so nothing to back-pressure or crash.
 */

/** Something that runs one SQL statement with positional parameters (`$1`, `$2`, …). */
export interface SqlClient {
  // biome-ignore lint/suspicious/noExplicitAny: rows are typed at each call site through `queryRows`
  query(sql: string, params?: unknown[]): Promise<{ rows: any[] }>
}

export async function queryRows<R>(client: SqlClient, sql: string, params: unknown[] = []): Promise<R[]> {
  const result = await client.query(sql, params)
  return result.rows as R[]
}

/** Quotes an identifier as `quote_ident` does unconditionally: `"Odd ""Name"""`, so any case or character works. */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new Error('an SQL identifier cannot be empty')
  if (name.includes('\0')) throw new Error('an SQL identifier cannot contain NUL')
  return `"${name.replaceAll('"', '""')}"`
}

/** `schema.table` with both parts quoted. */
export function quoteTable(table: TableName): string {
  return `${quoteIdent(table.schema)}.${quoteIdent(table.table)}`
}

/**
 * Quotes a string literal for the replication protocol's commands, which take no `$n` parameters. Standard
 * conforming strings are on by default since 9.1, so doubling the quotes is the whole job.
 */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('an SQL literal cannot contain NUL')
  return `'${value.replaceAll("'", "''")}'`
}

export interface TableName {
  schema: string
  table: string
}

export function formatTable(table: TableName): string {
  return `${table.schema}.${table.table}`
}

export function compareTables(a: TableName, b: TableName): number {
  return a.schema < b.schema ? -1 : a.schema > b.schema ? 1 : a.table < b.table ? -1 : a.table > b.table ? 1 : 0
}
