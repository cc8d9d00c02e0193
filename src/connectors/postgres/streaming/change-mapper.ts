/**
 * pgoutput row messages → change events. Pure and synchronous: the streaming source feeds it Relation messages
 * (enriched with catalog facts) before the rows that use them, as pgoutput guarantees, and transaction context from
 * Begin. Holds the relation cache; a new Relation message for a known id (after ALTER TABLE) replaces the entry, so
 * schema changes show up in the next event.
 */
import type { ChangeEvent, ConnectSchema, Op, Row, SnapshotMarker, SourceInfo, TableSchema } from '../../../events/change-event.js'
import type { PgOutputMessage, TupleData } from '../pgoutput/messages.js'
import { isColumnIncluded, type PostgresSourceConfig } from '../postgres-config.js'
import type { Lsn } from '../replication/lsn.js'
import { unchangedToastPlaceholder } from '../types/toast-placeholder.js'
import type { ColumnMapping, TypeRegistry } from '../types/type-registry.js'
import type { TableCatalogInfo } from './table-catalog.js'

type RelationMessage = Extract<PgOutputMessage, { tag: 'relation' }>

/** Microseconds between 1970-01-01 and PostgreSQL's epoch, 2000-01-01. */
export const PG_EPOCH_OFFSET_US = 946_684_800_000_000n

export interface TransactionContext {
  xid: number
  /** Commit time, microseconds since the Unix epoch. */
  commitTimeUs: bigint
  lastCommitLsn: Lsn | null
}

export interface MappedTable {
  relationId: number
  schema: string
  table: string
  topic: string
  tableSchema: TableSchema
  /** Position in the tuple of each captured column, and its converter. */
  columns: Array<{ index: number; name: string; mapping: ColumnMapping }>
}

export interface MappedChange {
  topic: string
  event: ChangeEvent
}

export function topicName(prefix: string, schema: string, table: string): string {
  return `${prefix}.${schema}.${table}`
}

function keyOf(event: ChangeEvent, side: 'before' | 'after'): string | null {
  const row = event[side]
  const keys = event.table.keyColumns
  if (!row || keys.length === 0) return null
  return JSON.stringify(keys.map((k) => row[k]), (_k, v) => (typeof v === 'bigint' ? v.toString() : v))
}

/**
 * Whether an update changed the primary key, as `keyOf` compares it. Most updates keep their key, and serializing
 * both keys for every update showed in profiles, so primitive values are compared directly: equal values (`===`,
 * NaN excepted) serialize alike, and two different strings, or two different finite numbers, never do. Anything
 * else (bigint, objects, mixed types) falls back to comparing the serialized keys.
 */
function keyChanged(event: ChangeEvent): boolean {
  const before = event.before
  const after = event.after
  const keys = event.table.keyColumns
  if (!before || !after || keys.length === 0) return keyOf(event, 'before') !== keyOf(event, 'after')
  for (const k of keys) {
    const a = before[k]
    const b = after[k]
    if (a === b && !(typeof a === 'number' && Number.isNaN(a))) continue
    const bothStrings = typeof a === 'string' && typeof b === 'string'
    const bothFinite = typeof a === 'number' && typeof b === 'number' && Number.isFinite(a) && Number.isFinite(b)
    if (!bothStrings && !bothFinite) return keyOf(event, 'before') !== keyOf(event, 'after')
    // The serialized keys differ at this position, whatever the other columns hold.
    return true
  }
  return false
}

/**
 * pgoutput marks an unchanged TOASTed column 'u' in the new tuple even under REPLICA IDENTITY FULL, where the old
 * tuple (which PostgreSQL detoasts for FULL) carries the value: take it from there, as Debezium does, so the `after`
 * image is complete whenever the server sent enough to make it so.
 */
export function withOldToastValues(newTuple: TupleData, oldTuple: TupleData): TupleData {
  if (!newTuple.some((v) => v.kind === 'unchanged-toast')) return newTuple
  return newTuple.map((value, index) => {
    const old = oldTuple[index]
    return value.kind === 'unchanged-toast' && old && (old.kind === 'text' || old.kind === 'binary') ? old : value
  })
}

/**
 * NOT NULL comes from the catalog as it is *now*, but a lagging source decodes rows written before a later
 * `SET NOT NULL`. A row with null in a required column would make consumers reject the event (Kafka Connect refuses
 * a null for a required field), so such columns become optional for this relation version. Returns the relaxed
 * schema, or null when the row fits.
 */
export function relaxRequiredColumns(schema: TableSchema, row: Row): TableSchema | null {
  // Runs for every row: look before allocating (a null in a required column is rare).
  let any = false
  for (const c of schema.columns) {
    if (!c.optional && row[c.field] === null) {
      any = true
      break
    }
  }
  if (!any) return null
  const nulls = schema.columns.filter((c) => !c.optional && row[c.field] === null)
  if (nulls.length === 0) return null
  return { ...schema, columns: schema.columns.map((c) => (nulls.includes(c) ? { ...c, optional: true } : c)) }
}

/** The wall clock in µs at ms resolution; one bigint per millisecond rather than one per event. */
export function millisecondClock(): () => bigint {
  let lastMs = Number.NaN
  let lastUs = 0n
  return () => {
    const ms = Date.now()
    if (ms !== lastMs) {
      lastUs = BigInt(ms) * 1000n
      lastMs = ms
    }
    return lastUs
  }
}

export class ChangeMapper {
  private readonly tables = new Map<number, MappedTable>()

  constructor(
    private readonly config: PostgresSourceConfig,
    private registry: TypeRegistry,
    private readonly now: () => bigint = millisecondClock(),
  ) {}

  /** Tables already defined keep their converters; relations defined from now on use the new registry. */
  useRegistry(registry: TypeRegistry): void {
    this.registry = registry
  }

  /** Registers (or replaces) a relation; returns the mapped table. */
  defineRelation(message: RelationMessage, info: TableCatalogInfo): MappedTable {
    const columns: MappedTable['columns'] = []
    const fields: Array<ConnectSchema & { field: string }> = []
    message.columns.forEach((column, index) => {
      if (!isColumnIncluded(this.config, message.schema, message.name, column.name)) return
      const mapping = this.registry.forColumn(column, !info.notNull.has(column.name))
      columns.push({ index, name: column.name, mapping })
      fields.push({ ...mapping.schema, field: column.name })
    })
    const captured = new Set(columns.map((c) => c.name))
    const mapped: MappedTable = {
      relationId: message.relationId,
      schema: message.schema,
      table: message.name,
      topic: topicName(this.config.topicPrefix, message.schema, message.name),
      tableSchema: {
        schema: message.schema,
        table: message.name,
        columns: fields,
        keyColumns: info.primaryKey.filter((k) => captured.has(k)),
      },
      columns,
    }
    this.tables.set(message.relationId, mapped)
    return mapped
  }

  table(relationId: number): MappedTable | undefined {
    return this.tables.get(relationId)
  }

  /** Maps one row message; `lsn` is the LSN of the change (the XLogData frame's start). */
  map(message: PgOutputMessage, lsn: Lsn, tx: TransactionContext): MappedChange[] {
    switch (message.tag) {
      case 'insert':
        return [this.change('c', message.relationId, null, message.newTuple, false, lsn, tx)]
      case 'update': {
        const old = message.oldTuple ?? message.keyTuple ?? null
        const after = message.oldTuple ? withOldToastValues(message.newTuple, message.oldTuple) : message.newTuple
        const update = this.change('u', message.relationId, old, after, message.oldTuple === undefined, lsn, tx)
        // A changed primary key is a delete of the old key and a create of the new one, as Debezium emits it.
        if (update.event.before && keyChanged(update.event)) {
          const remove = { ...update.event, op: 'd' as const, after: null }
          const create = { ...update.event, op: 'c' as const, before: null }
          return [{ topic: update.topic, event: remove }, { topic: update.topic, event: create }]
        }
        return [update]
      }
      case 'delete': {
        const old = message.oldTuple ?? message.keyTuple ?? null
        return [this.change('d', message.relationId, old, null, message.oldTuple === undefined, lsn, tx)]
      }
      case 'truncate':
        return message.relationIds.map((id) => this.change('t', id, null, null, false, lsn, tx))
      default:
        return []
    }
  }

  private change(op: Op, relationId: number, before: TupleData | null, after: TupleData | null, beforeIsKeyOnly: boolean, lsn: Lsn, tx: TransactionContext): MappedChange {
    const table = this.tables.get(relationId)
    if (!table) throw new Error(`pgoutput sent a change for relation ${relationId} before its Relation message`)
    const beforeRow = before ? this.row(table, before, beforeIsKeyOnly) : null
    const afterRow = after ? this.row(table, after, false) : null
    if (afterRow) this.relax(table, afterRow)
    if (beforeRow && !beforeIsKeyOnly) this.relax(table, beforeRow)
    const event: ChangeEvent = {
      op,
      table: table.tableSchema,
      before: beforeRow,
      after: afterRow,
      source: this.sourceInfo(table, lsn, tx, 'false'),
      processedAtUs: this.now(),
    }
    return { topic: table.topic, event }
  }

  private relax(table: MappedTable, row: Row): void {
    const relaxed = relaxRequiredColumns(table.tableSchema, row)
    if (relaxed) table.tableSchema = relaxed
  }

  /**
   * A snapshot read (`op: "r"`) of one row, given the captured columns' text values in `table.columns` order (the
   * order of the snapshot's SELECT list).
   */
  readEvent(table: MappedTable, values: Array<string | null>, marker: SnapshotMarker, lsn: Lsn | null, readAtUs: bigint): ChangeEvent {
    const row: Row = {}
    table.columns.forEach(({ name, mapping }, i) => {
      const text = values[i]
      row[name] = text === null || text === undefined ? null : mapping.convert(text)
    })
    return {
      op: 'r',
      table: table.tableSchema,
      before: null,
      after: row,
      source: this.sourceInfo(table, lsn, { xid: 0, commitTimeUs: readAtUs, lastCommitLsn: null }, marker),
      processedAtUs: this.now(),
    }
  }

  sourceInfo(table: MappedTable, lsn: Lsn | null, tx: TransactionContext, snapshot: SnapshotMarker): SourceInfo {
    return {
      name: this.config.topicPrefix,
      db: this.config.database,
      schema: table.schema,
      table: table.table,
      commitTimeUs: tx.commitTimeUs,
      snapshot,
      txId: snapshot === 'false' ? tx.xid : null,
      lsn,
      lastCommitLsn: tx.lastCommitLsn,
      xmin: null,
    }
  }

  /**
   * A key-only old tuple (REPLICA IDENTITY DEFAULT) carries values for the key columns only; the others are null
   * in the `before` row, as Debezium emits them.
   */
  private row(table: MappedTable, tuple: TupleData, keyOnly: boolean): Row {
    const row: Row = {}
    for (const { index, name, mapping } of table.columns) {
      const value = tuple[index]
      if (!value || value.kind === 'null' || (keyOnly && value.kind === 'unchanged-toast')) row[name] = null
      else if (value.kind === 'unchanged-toast') row[name] = unchangedToastPlaceholder(mapping.schema)
      else if (value.kind === 'text') row[name] = mapping.convert(value.value)
      else row[name] = mapping.convert(value.value.toString('utf8'))
    }
    return row
  }
}
