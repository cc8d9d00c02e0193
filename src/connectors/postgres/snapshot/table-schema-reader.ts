/**
 * Works with any `pg` type parsing (snapshot connections return every value as text).
 *
 * Reads a captured table's shape from the catalog — columns with types, primary key, NOT NULL, row estimate — in
 * the same form pgoutput's Relation message has, so snapshot rows and streamed rows are converted by one mapper.
 */
import type { RelationColumn, ReplicaIdentity } from '../pgoutput/messages.js'
import { type SqlClient, quoteTable, type TableName } from '../replication/sql.js'

export interface TableShape {
  relationId: number
  schema: string
  table: string
  replicaIdentity: ReplicaIdentity
  columns: RelationColumn[]
  primaryKey: string[]
  notNull: Set<string>
  rowsEstimated: number | null
}

const IDENTITY: Record<string, ReplicaIdentity> = { d: 'default', n: 'nothing', f: 'full', i: 'index' }

export async function readTableShape(client: SqlClient, name: TableName): Promise<TableShape> {
  const { rows: [rel] } = await client.query(
    'SELECT c.oid::int8 AS oid, c.relreplident AS ident, c.reltuples::float8 AS estimate FROM pg_class c WHERE c.oid = $1::regclass',
    [quoteTable(name)],
  )
  const { rows } = await client.query(
    `SELECT a.attname AS name, a.atttypid::int8 AS type_oid, a.atttypmod AS typmod, CASE WHEN a.attnotnull THEN 1 ELSE 0 END AS not_null,
            (SELECT array_position(i.indkey::int2[], a.attnum) FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisprimary) AS key_position
       FROM pg_attribute a
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [rel.oid],
  )
  const primaryKey = rows
    .filter((r) => r.key_position !== null)
    .sort((a, b) => Number(a.key_position) - Number(b.key_position))
    .map((r) => String(r.name))
  return {
    relationId: Number(rel.oid),
    schema: name.schema,
    table: name.table,
    replicaIdentity: IDENTITY[rel.ident] ?? 'default',
    columns: rows.map((r) => ({ isKey: r.key_position !== null, name: String(r.name), typeOid: Number(r.type_oid), typeMod: Number(r.typmod) })),
    primaryKey,
    notNull: new Set(rows.filter((r) => Number(r.not_null) === 1).map((r) => String(r.name))),
    rowsEstimated: Number(rel.estimate) >= 0 ? Math.round(Number(rel.estimate)) : null,
  }
}
