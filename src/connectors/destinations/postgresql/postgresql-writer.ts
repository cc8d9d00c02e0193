/**
 * Applies planned steps to the target database in one transaction per batch, each step one set-based statement over
 * `jsonb_populate_recordset(NULL::<table>, $1)`: PostgreSQL converts the JSON values to the target column types
 * itself, so a value a column rejects fails the statement (a RecordError, which the runtime bisects) and nothing of
 * the batch is half-applied. Tables are created on first sight and columns added when events carry new ones
 * (`schema.evolution: basic`); that DDL runs before the transaction and is idempotent (IF NOT EXISTS).
 */
import { APPEND_COLUMNS, type Step } from './batch-plan.js'
import { chooseTypes, quoteIdent } from './column-types.js'
import type { PostgresqlDestinationConfig } from './postgresql-config.js'
import { classifyPgError } from './postgresql-errors.js'

/** The two calls of a `pg` client the writer needs. */
export interface SqlClient {
  query(sql: string, params?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>
}

interface TableShape {
  columns: Set<string>
}

export function createPostgresqlWriter(config: PostgresqlDestinationConfig) {
  const shapes = new Map<string, TableShape>()
  const q = (table: string) => `${quoteIdent(config.schema)}.${quoteIdent(table)}`

  async function loadShape(client: SqlClient, table: string): Promise<TableShape | undefined> {
    const { rows } = await client.query(
      `SELECT a.attname AS name FROM pg_attribute a
        WHERE a.attrelid = to_regclass(format('%I.%I', $1::text, $2::text)) AND a.attnum > 0 AND NOT a.attisdropped`,
      [config.schema, table],
    )
    if (rows.length === 0) return undefined
    return { columns: new Set(rows.map((r) => String(r.name))) }
  }

  function wantedColumns(step: Step): { columns: Set<string>; rows: Array<Record<string, unknown>> } {
    const rows = step.kind === 'truncate' ? [] : step.rows
    const columns = new Set<string>()
    for (const row of rows) for (const c of Object.keys(row)) columns.add(c)
    const append = step.kind === 'append'
    if (append) for (const c of Object.keys(APPEND_COLUMNS)) columns.add(c)
    if (config.deleteMode === 'soft' && !append) columns.add('__deleted')
    return { columns, rows }
  }

  /** Creates the table or adds missing columns (DDL, outside the data transaction). */
  async function ensureTable(client: SqlClient, step: Step): Promise<TableShape | undefined> {
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

  function keyMatch(keyColumns: string[]): string {
    return keyColumns.map((c) => `t.${quoteIdent(c)} = d.${quoteIdent(c)}`).join(' AND ')
  }

  async function apply(client: SqlClient, step: Step, shape: TableShape): Promise<void> {
    const source = `jsonb_populate_recordset(NULL::${q(step.table)}, $1::jsonb)`
    switch (step.kind) {
      case 'upsert': {
        const soft = config.deleteMode === 'soft'
        const rows = soft ? step.rows.map((r) => ({ ...r, __deleted: false })) : step.rows
        const cols = columnsOf(shape, rows)
        const list = cols.map(quoteIdent).join(', ')
        const updates = cols.filter((c) => !step.keyColumns.includes(c)).map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`)
        const action = updates.length ? `DO UPDATE SET ${updates.join(', ')}` : 'DO NOTHING'
        const conflict = step.keyColumns.map(quoteIdent).join(', ')
        await client.query(`INSERT INTO ${q(step.table)} (${list}) SELECT ${list} FROM ${source} ON CONFLICT (${conflict}) ${action}`, [JSON.stringify(rows)])
        return
      }
      case 'delete': {
        const rows = JSON.stringify(step.rows)
        if (config.deleteMode === 'soft') {
          await client.query(`UPDATE ${q(step.table)} AS t SET "__deleted" = true FROM ${source} AS d WHERE ${keyMatch(step.keyColumns)}`, [rows])
        } else {
          await client.query(`DELETE FROM ${q(step.table)} AS t USING ${source} AS d WHERE ${keyMatch(step.keyColumns)}`, [rows])
        }
        return
      }
      case 'append': {
        const list = columnsOf(shape, step.rows).map(quoteIdent).join(', ')
        await client.query(`INSERT INTO ${q(step.table)} (${list}) SELECT ${list} FROM ${source} ON CONFLICT ("__partition", "__offset") DO NOTHING`, [JSON.stringify(step.rows)])
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

  return {
    /** Applies the steps atomically; throws a RecordError when the records' content was rejected. */
    async apply(client: SqlClient, steps: Step[]): Promise<void> {
      try {
        const tableShapes = []
        for (const step of steps) tableShapes.push(await ensureTable(client, step))
        await client.query('BEGIN')
        try {
          for (let i = 0; i < steps.length; i++) {
            const shape = tableShapes[i]
            if (shape) await apply(client, steps[i], shape)
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
