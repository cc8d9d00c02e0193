/**
 * What pgoutput's Relation message does not say but Debezium's events need: a table's primary-key columns (the event
 * key; REPLICA IDENTITY FULL flags every column as "key", so the flags cannot be used) and which columns are NOT NULL
 * (non-optional in the schema). Read from the catalog once per relation version.
 */
import type { QueryClient } from '../types/type-registry.js'

export interface TableCatalogInfo {
  /** Primary-key column names in key order; empty when the table has none. */
  primaryKey: string[]
  notNull: Set<string>
}

const SQL = `
  SELECT a.attname AS name, a.attnotnull AS not_null,
         (SELECT array_position(i.indkey::int2[], a.attnum)
            FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisprimary) AS key_position
    FROM pg_attribute a
   WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped`

export async function loadTableCatalogInfo(client: QueryClient, relationId: number): Promise<TableCatalogInfo> {
  const { rows } = await client.query(SQL, [relationId])
  const primaryKey = rows
    .filter((r) => r.key_position !== null)
    .sort((a, b) => Number(a.key_position) - Number(b.key_position))
    .map((r) => String(r.name))
  return { primaryKey, notNull: new Set(rows.filter((r) => r.not_null).map((r) => String(r.name))) }
}
