/**
 * Turns a batch of change records into set-based steps per target table (pure; no I/O). Within a table, the last
 * event per key wins, so one statement per kind applies the whole batch and the result equals applying the events
 * one by one in order. A truncate splits the batch: what came before it is applied, then the table is emptied.
 * (A truncate carries no key: the writer empties a keyed table and appends a `t` row to an append-layout one.)
 * An unchanged TOASTed column arrives as Debezium's placeholder: it is left out of that row's upsert, so the target
 * keeps its value (rows are grouped by the columns they carry, one statement per group, usually one).
 * Keyless tables, and every table in `insert` mode, get append steps carrying the change's log position, which is
 * their primary key, so a redelivered batch inserts nothing twice.
 */
import type { ChangeValue, DestinationRecord } from '../destination.js'
import { RecordError } from '../destination.js'
import type { FlatLayout } from '../flat-json.js'

export type Step = RegularStep | FlatStep

/** A step whose rows are parsed objects. */
export type RegularStep =
  | { kind: 'upsert'; table: string; keyColumns: string[]; rows: Array<Record<string, unknown>>; records: DestinationRecord[] }
  | { kind: 'delete'; table: string; keyColumns: string[]; rows: Array<Record<string, unknown>>; records: DestinationRecord[] }
  | { kind: 'append'; table: string; rows: Array<Record<string, unknown>>; records: DestinationRecord[] }
  | { kind: 'truncate'; table: string; records: DestinationRecord[] }

/**
 * Snapshot reads the decoder kept as flat JSON (`DestinationRecord.flat`), all of one table and layout: rows that
 * should be new, which the writer copies into COPY text without parsing them. When it cannot, it plans the records
 * again as regular steps (`planRegular(step.records, …)`: their `key` and `after` are parsed then).
 */
export interface FlatStep {
  kind: 'flat'
  table: string
  /** The key's fields, in the key's order; the after image holds the same values (the decoder checked). */
  keyColumns: readonly string[]
  layout: FlatLayout
  records: DestinationRecord[]
}

/** Columns an append-layout table has besides the source's. */
export const APPEND_COLUMNS: Record<string, string> = {
  __op: 'text',
  __source_lsn: 'bigint',
  __source_ts_ms: 'bigint',
  __partition: 'integer',
  __offset: 'bigint',
}

/** The source table of a record: from its event, else the topic's last segment (a tombstone has no event). */
function sourceTable(record: DestinationRecord): string {
  return record.value?.source?.table ?? record.topic.slice(record.topic.lastIndexOf('.') + 1)
}

/**
 * The target table a `table.name.format` gives a record: `${table}`, `${schema}` (the source's), `${topic}` (dots
 * as underscores) and `${source}` (the topic prefix, the part before `<schema>.<table>`).
 */
export function tableNameFor(format: string): (record: DestinationRecord) => string {
  if (format === '${table}') return sourceTable
  return (record) => {
    const parts = record.topic.split('.')
    const values: Record<string, string> = {
      table: sourceTable(record),
      schema: record.value?.source?.schema ?? parts.at(-2) ?? '',
      topic: record.topic.replace(/\./g, '_'),
      source: parts.slice(0, -2).join('.'),
    }
    return format.replace(/\$\{(table|schema|topic|source)\}/g, (_, name: string) => values[name])
  }
}

/** Debezium's `unavailable.value.placeholder`, as text and as base64 bytes. */
const UNAVAILABLE = new Set(['__debezium_unavailable_value', Buffer.from('__debezium_unavailable_value').toString('base64')])

function isUnavailable(value: unknown): boolean {
  return typeof value === 'string' ? UNAVAILABLE.has(value) : Array.isArray(value) && value.length === 1 && UNAVAILABLE.has(value[0])
}

interface Latest {
  record: DestinationRecord
  /** The row to write: the after image (placeholders filled from an earlier event of the batch), or the key. */
  row: Record<string, unknown>
}

/** The upsert rows, placeholders removed, grouped by the set of columns they carry. */
function upsertGroups(latest: Latest[]): Array<{ rows: Array<Record<string, unknown>>; records: DestinationRecord[] }> {
  const groups = new Map<string, { rows: Array<Record<string, unknown>>; records: DestinationRecord[] }>()
  let lastColumns: string[] = []
  let lastSignature = ''
  for (const { record: r, row: full } of latest) {
    let row = full
    let columns = Object.keys(full)
    if (columns.some((c) => isUnavailable(full[c]))) {
      row = {}
      for (const c of columns) if (!isUnavailable(full[c])) row[c] = full[c]
      columns = Object.keys(row)
    }
    // Rows of a batch usually carry the same columns: the signature is joined only when they differ.
    const same = columns.length === lastColumns.length && columns.every((c, i) => c === lastColumns[i])
    const signature = same ? lastSignature : columns.join('\u0000')
    lastColumns = columns
    lastSignature = signature
    let group = groups.get(signature)
    if (!group) groups.set(signature, (group = { rows: [], records: [] }))
    group.rows.push(row)
    group.records.push(r)
  }
  return [...groups.values()]
}

function appendRow(record: DestinationRecord): Record<string, unknown> {
  const value = record.value!
  return {
    ...(value.after ?? value.before ?? {}),
    __op: value.op,
    __source_lsn: value.source?.lsn ?? null,
    __source_ts_ms: value.source?.ts_ms ?? null,
    __partition: record.partition,
    __offset: record.offset,
  }
}

/** A key's identity within a batch: one number or string is common and cheap; anything else goes through JSON. */
function keyId(columns: string[], key: Record<string, unknown>): string {
  if (columns.length === 1) {
    const value = key[columns[0]]
    if (typeof value === 'number') return `n${value}`
    if (typeof value === 'string') return `s${value}`
  }
  return `j${JSON.stringify(columns.map((c) => key[c]))}`
}

/** The after image with the key's values: the image itself (never modified) when it holds them already. */
function rowWithKey(after: Record<string, unknown>, key: Record<string, unknown>): Record<string, unknown> {
  for (const column in key) if (after[column] !== key[column]) return { ...after, ...key }
  return after
}

interface Pending {
  keyColumns: string[]
  latest: Map<string, Latest>
  appends: DestinationRecord[]
}

/**
 * A batch made only of flat snapshot reads (see FlatStep) as one step per table and layout, or null. Reads of distinct
 * keys commute, so their order across tables does not matter; a key read twice makes the writer's COPY fail on the
 * table's unique key and the regular plan applies the step (the last read wins there).
 */
function flatSteps(records: readonly DestinationRecord[], targetTable: (record: DestinationRecord) => string): FlatStep[] | null {
  const steps = new Map<string, FlatStep>()
  // Reads of a run share their envelope: the table is named once per run and topic (and `value` never parsed).
  let last: { topic: string; envelope: ChangeValue; table: string } | null = null
  for (const record of records) {
    const flat = record.flat
    if (flat === undefined || flat.envelope.op !== 'r') return null
    if (last === null || last.topic !== record.topic || last.envelope !== flat.envelope) {
      const { topic, partition, offset } = record
      last = { topic, envelope: flat.envelope, table: targetTable({ topic, partition, offset, key: null, value: flat.envelope, valueSchema: null }) }
    }
    const table = last.table
    const step = steps.get(table)
    if (step === undefined) {
      steps.set(table, { kind: 'flat', table, keyColumns: flat.keyColumns, layout: flat.after.layout, records: [record] })
    } else if (step.layout === flat.after.layout && step.keyColumns === flat.keyColumns) {
      step.records.push(record)
    } else {
      return null
    }
  }
  return steps.size === 0 ? null : [...steps.values()]
}

export function planBatch(records: readonly DestinationRecord[], mode: 'upsert' | 'insert', targetTable: (record: DestinationRecord) => string = sourceTable): Step[] {
  if (mode === 'upsert') {
    const flat = flatSteps(records, targetTable)
    if (flat !== null) return flat
  }
  return planRegular(records, mode, targetTable)
}

/** planBatch without flat steps: every record's key and after image parsed. */
export function planRegular(records: readonly DestinationRecord[], mode: 'upsert' | 'insert', targetTable: (record: DestinationRecord) => string = sourceTable): RegularStep[] {
  const steps: RegularStep[] = []
  const pending = new Map<string, Pending>()

  const flush = (table: string) => {
    const p = pending.get(table)
    if (!p) return
    pending.delete(table)
    if (p.appends.length) steps.push({ kind: 'append', table, rows: p.appends.map(appendRow), records: p.appends })
    const upserts = [...p.latest.values()].filter((l) => l.record.value!.op !== 'd')
    const deletes = [...p.latest.values()].filter((l) => l.record.value!.op === 'd').map((l) => l.record)
    for (const group of upsertGroups(upserts)) steps.push({ kind: 'upsert', table, keyColumns: p.keyColumns, ...group })
    if (deletes.length) steps.push({ kind: 'delete', table, keyColumns: p.keyColumns, rows: deletes.map((r) => ({ ...r.key })), records: deletes })
  }

  for (const record of records) {
    const value = record.value
    if (value === null) continue // tombstone: the delete before it did the work
    const table = targetTable(record)
    if (value.op === 't') {
      flush(table)
      steps.push({ kind: 'truncate', table, records: [record] })
      continue
    }
    const keyed = mode === 'upsert' && record.key !== null && Object.keys(record.key).length > 0
    if (keyed && value.op !== 'd' && !value.after) throw new RecordError(`a ${value.op} event without an after image`)
    let p = pending.get(table)
    if (!p) {
      p = { keyColumns: keyed ? Object.keys(record.key!) : [], latest: new Map(), appends: [] }
      pending.set(table, p)
    }
    if (keyed) {
      const id = keyId(p.keyColumns, record.key!)
      const before = p.latest.get(id)
      let row: Record<string, unknown> = { ...record.key }
      if (value.op !== 'd') {
        row = rowWithKey(value.after!, record.key!)
        // An unchanged TOASTed value an earlier event of this batch carried must survive the collapse.
        if (before && before.record.value!.op !== 'd' && Object.values(row).some(isUnavailable)) {
          row = { ...row }
          for (const [k, v] of Object.entries(row)) if (isUnavailable(v) && k in before.row) row[k] = before.row[k]
        }
      }
      p.latest.set(id, { record, row })
    }
    else p.appends.push(record)
  }
  for (const table of [...pending.keys()]) flush(table)
  return steps
}
