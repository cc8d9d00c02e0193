/**
 * Applies planned steps to the target database in one transaction per batch, each step one set-based statement over
 * `jsonb_populate_recordset(NULL::<table>, $1)`: PostgreSQL converts the JSON values to the target column types
 * itself, so a value a column rejects fails the statement (a RecordError, which the runtime bisects) and nothing of
 * the batch is half-applied. Tables are created on first sight and columns added when events carry new ones
 * (`schema.evolution: basic`); that DDL runs before the transaction and is idempotent (IF NOT EXISTS).
 *
 * A string bound for a json or jsonb column is JSON text (Debezium's `io.debezium.data.Json`), stored parsed, as
 * Debezium's JDBC sink stores it; jsonb_populate_recordset alone would store it as a JSON string.
 *
 * Bulk path: a step whose rows should all be new — snapshot reads and inserts, or an append step — is first tried as
 * `COPY … FROM STDIN` (copy-rows.ts), which costs the target a fraction of an upsert, inside a savepoint. When some
 * row is there already (a re-snapshot, a redelivered batch), COPY fails on the table's unique key, the savepoint is
 * rolled back and the regular statement applies the step. So the result is the regular path's either way. COPY is
 * only tried on a table with a unique index on exactly the conflict columns (without one a redelivery would duplicate
 * rows), and after a failed try a table skips the bulk path for its next few steps, so a re-snapshot does not pay
 * for a failing COPY per batch.
 */
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import type { DestinationRecord, FlatRead } from '../destination.js'
import { isNullValue } from '../flat-json.js'
import { APPEND_COLUMNS, type FlatStep, type RegularStep, type Step, planRegular } from './batch-plan.js'
import { chooseTypes, quoteIdent, rowFields, typesFromSchema } from './column-types.js'
import { valueConverter } from './logical-types.js'
import { copyRows, flatCopyChunks } from './copy-rows.js'
import type { PostgresqlDestinationConfig } from './postgresql-config.js'
import { classifyPgError } from './postgresql-errors.js'

/** The calls of a `pg` client the writer needs: queries, and COPY streams. */
export type SqlClient = Pick<pg.ClientBase, 'query'>

interface TableShape {
  columns: Set<string>
  /** Column → its type as the catalog names it (`format_type`: `timestamp without time zone`, `jsonb`…). */
  types: Map<string, string>
  /** Columns of type json or jsonb, and which. */
  json: Map<string, 'json' | 'jsonb'>
  /** The column sets of the table's unique indexes (plain, not partial), each sorted and joined by NUL. */
  uniqueKeys: Set<string>
}

/** What a step writes: its rows as both paths write them, and the target columns they fill. */
interface StepRows {
  rows: Array<Record<string, unknown>>
  cols: string[]
}

/** Steps smaller than this go straight to the regular statement: COPY's extra round trips would cost more. */
const BULK_MIN_ROWS = 64
/** Eligible steps of a table that skip the bulk path after a failed try. */
const BULK_BACKOFF_STEPS = 16

export function createPostgresqlWriter(config: PostgresqlDestinationConfig) {
  const shapes = new Map<string, TableShape>()
  /** Per table, eligible steps still to skip the bulk path (see BULK_BACKOFF_STEPS). */
  const bulkBackoff = new Map<string, number>()
  const q = (table: string) => `${quoteIdent(config.schema)}.${quoteIdent(table)}`

  async function loadShape(client: SqlClient, table: string): Promise<TableShape | undefined> {
    const { rows } = await client.query(
      `SELECT a.attname AS name, format_type(a.atttypid, NULL) AS type FROM pg_attribute a
        WHERE a.attrelid = to_regclass(format('%I.%I', $1::text, $2::text)) AND a.attnum > 0 AND NOT a.attisdropped`,
      [config.schema, table],
    )
    if (rows.length === 0) return undefined
    const { rows: indexes } = await client.query(
      `SELECT array_agg(a.attname::text) AS columns FROM pg_index i
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
        WHERE i.indrelid = to_regclass(format('%I.%I', $1::text, $2::text)) AND i.indisunique
          AND i.indpred IS NULL AND i.indexprs IS NULL
        GROUP BY i.indexrelid`,
      [config.schema, table],
    )
    return {
      columns: new Set(rows.map((r) => String(r.name))),
      types: new Map(rows.map((r) => [String(r.name), String(r.type)])),
      json: new Map(rows.filter((r) => r.type === 'json' || r.type === 'jsonb').map((r) => [String(r.name), r.type as 'json' | 'jsonb'])),
      uniqueKeys: new Set(indexes.map((r) => [...(r.columns as string[])].sort().join('\u0000'))),
    }
  }

  function wantedColumns(step: RegularStep): { columns: Set<string>; rows: Array<Record<string, unknown>> } {
    const rows = step.kind === 'truncate' ? [] : step.rows
    const columns = new Set<string>()
    for (const row of rows) for (const c of Object.keys(row)) columns.add(c)
    const append = step.kind === 'append'
    if (append) for (const c of Object.keys(APPEND_COLUMNS)) columns.add(c)
    if (config.deleteMode === 'soft' && !append) columns.add('__deleted')
    return { columns, rows }
  }

  /** Creates the table or adds missing columns (DDL, outside the data transaction). */
  async function ensureTable(client: SqlClient, step: RegularStep): Promise<TableShape | undefined> {
    let shape = shapes.get(step.table) ?? (await loadShape(client, step.table))
    if (step.kind === 'truncate') return shape // never creates a table: nothing to empty yet
    const { columns, rows } = wantedColumns(step)
    const missing = [...columns].filter((c) => !shape?.columns.has(c))
    if (shape && (missing.length === 0 || !config.evolve)) {
      shapes.set(step.table, shape)
      return shape
    }
    if (!config.evolve) throw new Error(`table ${config.schema}.${step.table} does not exist and schema.evolution is none`)
    const valueSchema = step.records.find((r) => r.valueSchema)?.valueSchema
    const types = chooseTypes(missing, rows, valueSchema)
    for (const [c, t] of Object.entries(APPEND_COLUMNS)) if (types.has(c)) types.set(c, t)
    if (types.has('__deleted')) types.set('__deleted', 'boolean NOT NULL DEFAULT false')
    if (!shape) {
      const key = step.kind === 'upsert' || step.kind === 'delete' ? step.keyColumns : ['__partition', '__offset']
      const defs = [...types].map(([c, t]) => `${quoteIdent(c)} ${t}`)
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(config.schema)}`)
      await client.query(`CREATE TABLE IF NOT EXISTS ${q(step.table)} (${defs.join(', ')}, PRIMARY KEY (${key.map(quoteIdent).join(', ')}))`)
    } else {
      const adds = [...types].map(([c, t]) => `ADD COLUMN IF NOT EXISTS ${quoteIdent(c)} ${t}`)
      await client.query(`ALTER TABLE ${q(step.table)} ${adds.join(', ')}`)
    }
    shape = (await loadShape(client, step.table))!
    shapes.set(step.table, shape)
    return shape
  }

  function columnsOf(shape: TableShape, rows: ReadonlyArray<Record<string, unknown>>, extra: string[] = []): string[] {
    const present = new Set(extra)
    for (const row of rows) for (const c of Object.keys(row)) present.add(c)
    return [...present].filter((c) => shape.columns.has(c))
  }

  /** A table Sluice created for appending (keyless source table, or insert mode) keeps truncates as rows. */
  function isAppendLayout(shape: TableShape): boolean {
    return Object.keys(APPEND_COLUMNS).every((c) => shape.columns.has(c))
  }

  /** A column of the populated record `d` as the target stores it: a JSON string parsed in a json/jsonb column. */
  function valueOf(shape: TableShape, column: string): string {
    const c = `d.${quoteIdent(column)}`
    const type = shape.json.get(column)
    return type === undefined ? c : `CASE ${type}_typeof(${c}) WHEN 'string' THEN (${c} #>> '{}')::${type} ELSE ${c} END`
  }

  function selectList(shape: TableShape, cols: string[]): string {
    return cols.map((c) => valueOf(shape, c)).join(', ')
  }

  function keyMatch(shape: TableShape, keyColumns: string[]): string {
    return keyColumns.map((c) => `t.${quoteIdent(c)} = ${valueOf(shape, c)}`).join(' AND ')
  }

  /**
   * What turns Debezium's logical types into what the table's native columns read (logical-types.ts), by column; the
   * schema of the first event that has one serves all the records.
   */
  function convertersFor(records: readonly DestinationRecord[], shape: TableShape): Array<[string, (value: unknown) => unknown]> {
    const converters: Array<[string, (value: unknown) => unknown]> = []
    for (const field of rowFields(records.find((r) => r.valueSchema)?.valueSchema)) {
      const type = field.field === undefined ? undefined : shape.types.get(field.field)
      const convert = type === undefined ? null : valueConverter(field, type)
      if (convert) converters.push([field.field as string, convert])
    }
    return converters
  }

  /** The rows a step writes, as the regular statement and the bulk path both write them (logical types converted). */
  function rowsOf(step: Step & { kind: 'upsert' | 'append' | 'delete' }, shape: TableShape): StepRows {
    const converters = convertersFor(step.records, shape)
    const soft = step.kind === 'upsert' && config.deleteMode === 'soft'
    let rows = step.rows
    if (converters.length > 0 || soft) {
      rows = rows.map((row) => {
        const out: Record<string, unknown> = soft ? { ...row, __deleted: false } : { ...row }
        for (const [column, convert] of converters) if (column in out) out[column] = convert(out[column])
        return out
      })
    }
    return { rows, cols: columnsOf(shape, rows) }
  }

  /** The regular statement of a step; `written` is its rows (rowsOf), null for a truncate. */
  async function apply(client: SqlClient, step: Step, shape: TableShape, written: StepRows | null): Promise<void> {
    const source = `jsonb_populate_recordset(NULL::${q(step.table)}, $1::jsonb) AS d`
    switch (step.kind) {
      case 'upsert': {
        const { rows, cols } = written as StepRows
        const list = cols.map(quoteIdent).join(', ')
        const updates = cols.filter((c) => !step.keyColumns.includes(c)).map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`)
        const action = updates.length ? `DO UPDATE SET ${updates.join(', ')}` : 'DO NOTHING'
        const conflict = step.keyColumns.map(quoteIdent).join(', ')
        await client.query(`INSERT INTO ${q(step.table)} (${list}) SELECT ${selectList(shape, cols)} FROM ${source} ON CONFLICT (${conflict}) ${action}`, [JSON.stringify(rows)])
        return
      }
      case 'delete': {
        const rows = JSON.stringify((written as StepRows).rows)
        if (config.deleteMode === 'soft') {
          await client.query(`UPDATE ${q(step.table)} AS t SET "__deleted" = true FROM ${source} WHERE ${keyMatch(shape, step.keyColumns)}`, [rows])
        } else {
          await client.query(`DELETE FROM ${q(step.table)} AS t USING ${source} WHERE ${keyMatch(shape, step.keyColumns)}`, [rows])
        }
        return
      }
      case 'append': {
        const { rows, cols } = written as StepRows
        const list = cols.map(quoteIdent).join(', ')
        await client.query(`INSERT INTO ${q(step.table)} (${list}) SELECT ${selectList(shape, cols)} FROM ${source} ON CONFLICT ("__partition", "__offset") DO NOTHING`, [JSON.stringify(rows)])
        return
      }
      case 'truncate': {
        if (!isAppendLayout(shape)) await client.query(`TRUNCATE ${q(step.table)}`)
        else {
          const r = step.records[0]
          const row = { __op: 't', __source_lsn: r.value?.source?.lsn ?? null, __source_ts_ms: r.value?.source?.ts_ms ?? null, __partition: r.partition, __offset: r.offset }
          await client.query(`INSERT INTO ${q(step.table)} ("__op", "__source_lsn", "__source_ts_ms", "__partition", "__offset") VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, [row.__op, row.__source_lsn, row.__source_ts_ms, row.__partition, row.__offset])
        }
        return
      }
    }
  }

  /**
   * Whether a step of `rows` rows may try the bulk path: enough rows, a unique index on exactly the conflict columns,
   * and the table not backing off after a failed try (a declined step counts toward the back-off).
   */
  function bulkAllowed(table: string, rows: number, conflict: readonly string[], shape: TableShape): boolean {
    if (rows < BULK_MIN_ROWS) return false
    if (!shape.uniqueKeys.has([...conflict].sort().join('\u0000'))) return false
    const backoff = bulkBackoff.get(table) ?? 0
    if (backoff > 0) {
      bulkBackoff.set(table, backoff - 1)
      return false
    }
    return true
  }

  /** The COPY text of a step the bulk path may apply, or null (see the file comment). */
  function bulkText(step: Step, shape: TableShape, written: StepRows | null): string | null {
    if ((step.kind !== 'upsert' && step.kind !== 'append') || written === null) return null
    if (step.kind === 'upsert' && !step.records.every((r) => r.value?.op === 'r' || r.value?.op === 'c')) return null
    const conflict = step.kind === 'upsert' ? step.keyColumns : ['__partition', '__offset']
    if (!bulkAllowed(step.table, step.rows.length, conflict, shape)) return null
    return copyRows(written.cols, shape.json, written.rows)
  }

  /** Applies rows by COPY inside a savepoint; false (and nothing applied) when COPY failed. */
  async function applyBulk(client: SqlClient, table: string, cols: readonly string[], text: string | Iterable<Buffer>): Promise<boolean> {
    await client.query('SAVEPOINT sluice_bulk')
    try {
      const list = cols.map(quoteIdent).join(', ')
      await pipeline(Readable.from(typeof text === 'string' ? [Buffer.from(text)] : text), client.query(copyFrom(`COPY ${q(table)} (${list}) FROM STDIN`)))
    } catch {
      // Usually a row that is there already; whatever it was, the regular statement applies the step or reports it.
      await client.query('ROLLBACK TO SAVEPOINT sluice_bulk')
      bulkBackoff.set(table, BULK_BACKOFF_STEPS)
      return false
    }
    await client.query('RELEASE SAVEPOINT sluice_bulk')
    return true
  }

  /** A regular step: by COPY when it may and COPY takes it, else its statement. */
  async function applyStep(client: SqlClient, step: RegularStep, shape: TableShape): Promise<void> {
    const written = step.kind === 'truncate' ? null : rowsOf(step, shape)
    const bulk = bulkText(step, shape, written)
    if (bulk === null || !(await applyBulk(client, step.table, (written as StepRows).cols, bulk))) await apply(client, step, shape, written)
  }

  /**
   * The table a flat step can be copied into as it is: it exists with every column the rows carry (the soft-delete
   * flag too), nothing needs a logical-type conversion, and the bulk path is allowed. Undefined otherwise: the step
   * is then planned as regular steps, which create or widen the table as needed.
   */
  async function flatTarget(client: SqlClient, step: FlatStep): Promise<TableShape | undefined> {
    let shape = shapes.get(step.table) ?? (await loadShape(client, step.table))
    const fits = (s: TableShape | undefined): s is TableShape =>
      s !== undefined && step.layout.names.every((c) => s.columns.has(c)) && (config.deleteMode !== 'soft' || s.columns.has('__deleted'))
    if (!fits(shape) && config.evolve) {
      // The table is created or widened from the few records that decide its column types, and the step itself
      // still goes by COPY. (Planning all the records as regular steps first cost the first batch of a snapshot into
      // a new table 90 ms for 10,000 records, and the batch then took the slow path: 300 ms instead of 50.)
      const ddl = ddlStep(step)
      if (ddl !== null) shape = await ensureTable(client, ddl)
    }
    if (!fits(shape)) return undefined
    shapes.set(step.table, shape)
    if (convertersFor(step.records, shape).length > 0) return undefined
    return bulkAllowed(step.table, step.records.length, step.keyColumns, shape) ? shape : undefined
  }

  /**
   * A regular step of the flat step's records that decide its DDL: ensureTable types a column from the value schema,
   * else from its first non-null value in the rows, so those records give the same table as all of them would. Null
   * when the records do not share one value schema (then the step is planned as regular steps, as before).
   */
  function ddlStep(step: FlatStep): RegularStep | null {
    const valueSchema = step.records[0]?.valueSchema ?? null
    if (!step.records.every((r) => (r.valueSchema ?? null) === valueSchema)) return null
    const typed = typesFromSchema(valueSchema)
    const { names } = step.layout
    const untyped = new Set(names.flatMap((name, f) => (typed.has(name) ? [] : [f])))
    const sample: DestinationRecord[] = []
    for (const record of step.records) {
      if (sample.length > 0 && untyped.size === 0) break
      let decides = sample.length === 0
      for (const f of untyped) {
        if (isNullValue((record.flat as FlatRead).after, f)) continue
        untyped.delete(f)
        decides = true
      }
      if (decides) sample.push(record)
    }
    const [planned] = planRegular(sample, 'upsert', () => step.table)
    return planned?.kind === 'upsert' ? planned : null
  }

  /** A flat step by COPY of the rows' bytes; when COPY fails, the same records as regular steps. */
  async function applyFlat(client: SqlClient, step: FlatStep, shape: TableShape): Promise<void> {
    const soft = config.deleteMode === 'soft'
    const cols = soft ? [...step.layout.names, '__deleted'] : step.layout.names
    if (await applyBulk(client, step.table, cols, flatCopyChunks(step.records, soft ? '\tfalse' : ''))) return
    for (const regular of planRegular(step.records, 'upsert', () => step.table)) await applyStep(client, regular, shape)
  }

  return {
    /** Applies the steps atomically; throws a RecordError when the records' content was rejected. */
    async apply(client: SqlClient, planned: Step[]): Promise<void> {
      try {
        const steps: Step[] = []
        const tableShapes: Array<TableShape | undefined> = []
        for (const step of planned) {
          if (step.kind !== 'flat') {
            steps.push(step)
            tableShapes.push(await ensureTable(client, step))
            continue
          }
          const shape = await flatTarget(client, step)
          if (shape !== undefined) {
            steps.push(step)
            tableShapes.push(shape)
            continue
          }
          for (const regular of planRegular(step.records, 'upsert', () => step.table)) {
            steps.push(regular)
            tableShapes.push(await ensureTable(client, regular))
          }
        }
        await client.query('BEGIN')
        try {
          for (let i = 0; i < steps.length; i++) {
            const step = steps[i]
            const shape = tableShapes[i]
            if (!shape) continue
            if (step.kind === 'flat') await applyFlat(client, step, shape)
            else await applyStep(client, step, shape)
          }
          await client.query('COMMIT')
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined)
          throw err
        }
      } catch (err) {
        shapes.clear() // a failure may come from a table changed behind our back: read the catalog again
        throw classifyPgError(err)
      }
    },
  }
}

export type PostgresqlWriter = ReturnType<typeof createPostgresqlWriter>
