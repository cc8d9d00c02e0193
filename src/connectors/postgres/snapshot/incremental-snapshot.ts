/**
 * Incremental snapshots with the DBLog algorithm (Netflix's watermarks; Debezium's incremental snapshot): tables are
 * read in key-ordered chunks while streaming goes on. For each chunk a low watermark is written to the WAL with
 * `pg_logical_emit_message`, the chunk is selected, and a high watermark is written. Between the two watermarks in
 * the stream, every streamed change to a key of the chunk marks that key: the log has a newer (or equally new)
 * version, so the chunk's row for it is dropped. When the high watermark arrives the remaining rows are written as
 * `op: "r"` events at exactly that point of the stream. Streaming never pauses.
 *
 * Progress (the last key of each completed chunk) is saved after the chunk's events are durable, so a crash or
 * restart resumes at the next chunk. Stop keeps the progress; pause waits between chunks until resumed.
 */
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import type { ChangeEvent, EventValue } from '../../../events/change-event.js'
import type { SnapshotChannel, SnapshotRun, TableSnapshot } from '../../snapshot-run.js'
import type { TaskLogger } from '../../source.js'
import type { PostgresSourceConfig } from '../postgres-config.js'
import { quoteIdent, quoteTable, type SqlClient } from '../replication/sql.js'
import { ChangeMapper, type MappedTable } from '../streaming/change-mapper.js'
import type { StreamInterceptor, StreamingControl } from '../streaming/streaming-control.js'
import type { TypeRegistry } from '../types/type-registry.js'
import { endClient } from '../../../util/pg-connection-ending.js'
import { untilAborted, waitForWake } from './abortable.js'
import { readTableShape } from './table-schema-reader.js'

export const WATERMARK_PREFIX = 'sluice_watermark'
const TEXT_TYPES = { getTypeParser: () => (value: string) => value }

export interface IncrementalSnapshotOptions {
  run: SnapshotRun
  channel: SnapshotChannel
  config: PostgresSourceConfig
  registry: TypeRegistry
  control: StreamingControl
  logger: TaskLogger
  signal: AbortSignal
  connectionConfig: pg.ClientConfig
  sql: SqlClient
  ensureTopic(topic: string): Promise<void>
}

interface Cursor {
  lastKey: Array<string | null> | null
}

/**
 * Attempts at one chunk (by run, table and start key) since this process started. A chunk whose rows cannot be
 * appended (one too large for its topic, say) fails in the stream, which restarts the source task and with it this
 * run, at the same chunk: after MAX_CHUNK_ATTEMPTS the table is marked failed instead, so the source stops
 * restarting (as a blocking snapshot's table does, table-snapshot-reader.ts). Kept in memory: task restarts happen in
 * this process, and a process that restarts starts over.
 */
const chunkAttempts = new Map<string, number>()
const MAX_CHUNK_ATTEMPTS = 5

function keyString(values: EventValue[]): string {
  return JSON.stringify(values, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))
}

/** One chunk's watermark window, as the stream sees it. */
class ChunkWindow implements StreamInterceptor {
  readonly id = randomUUID()
  private open = false
  private readonly seen = new Set<string>()
  rows: Array<{ key: string; values: Array<string | null> }> | null = null
  emitted = 0
  readonly done: Promise<void>
  private finish!: () => void

  constructor(
    private readonly table: MappedTable,
    private readonly keyColumns: string[],
    private readonly mapper: ChangeMapper,
  ) {
    this.done = new Promise((resolve) => {
      this.finish = resolve
    })
  }

  onChange(topic: string, event: ChangeEvent): void {
    if (!this.open || topic !== this.table.topic) return
    for (const row of [event.before, event.after]) {
      if (row && this.keyColumns.every((k) => k in row)) this.seen.add(keyString(this.keyColumns.map((k) => row[k])))
    }
  }

  onMessage(message: { prefix: string; content: Buffer }) {
    if (message.prefix !== WATERMARK_PREFIX) return null
    const mark = JSON.parse(message.content.toString('utf8')) as { window: string; kind: 'low' | 'high' }
    if (mark.window !== this.id) return null
    if (mark.kind === 'low') {
      this.open = true
      return null
    }
    this.open = false
    const readAt = BigInt(Date.now()) * 1000n
    const records = (this.rows ?? [])
      .filter((r) => !this.seen.has(r.key))
      .map((r) => ({ topic: this.table.topic, event: this.mapper.readEvent(this.table, r.values, 'incremental', null, readAt) }))
    this.emitted = records.length
    return { records, afterDurable: async () => this.finish() }
  }
}

export async function runIncrementalSnapshot(options: IncrementalSnapshotOptions): Promise<void> {
  const { channel, signal, logger } = options
  const reader = new pg.Client({ ...options.connectionConfig, types: TEXT_TYPES } as pg.ClientConfig)
  reader.on('error', () => undefined)
  await reader.connect()
  const abort = () => void endClient(reader)
  signal.addEventListener('abort', abort, { once: true })
  let run = await channel.save({ ...options.run, status: 'running', startedAt: options.run.startedAt ?? new Date().toISOString() })
  try {
    for (const table of run.tables) {
      if (table.status !== 'pending' && table.status !== 'running') continue
      run = await snapshotTable(options, reader, run, table)
      if (signal.aborted || run.status === 'cancelled') return
    }
    run = await channel.save({ ...run, status: run.tables.some((t) => t.status === 'failed') ? 'failed' : 'completed', endedAt: new Date().toISOString() })
    logger.info({ snapshot_id: run.id, status: run.status }, 'incremental snapshot finished')
  } finally {
    options.control.interceptor = null
    signal.removeEventListener('abort', abort)
    await endClient(reader)
  }
}

async function snapshotTable(options: IncrementalSnapshotOptions, reader: pg.Client, initial: SnapshotRun, table: TableSnapshot): Promise<SnapshotRun> {
  const { channel, config, signal } = options
  const name = { schema: table.schema, table: table.table }
  const shape = await readTableShape(reader, name)
  const mapper = new ChangeMapper(config, options.registry)
  const mapped = mapper.defineRelation(
    { tag: 'relation', relationId: shape.relationId, schema: shape.schema, name: shape.table, replicaIdentity: shape.replicaIdentity, columns: shape.columns },
    { primaryKey: shape.primaryKey, notNull: shape.notNull },
  )
  await options.ensureTopic(mapped.topic)
  const surrogate = initial.options.surrogateKey
  const keyColumns = surrogate ? [surrogate] : shape.primaryKey
  if (keyColumns.length === 0) return channel.save(patch(initial, table.topic, { status: 'failed', endedAt: new Date().toISOString() }))
  const keyIndexes = keyColumns.map((k) => mapped.columns.findIndex((c) => c.name === k))
  const filter = initial.options.additionalConditions.find((c) => c.dataCollection === table.topic || c.dataCollection === `${table.schema}.${table.table}`)?.filter
  const columns = mapped.columns.map((c) => quoteIdent(c.name)).join(', ')
  const keyList = keyColumns.map(quoteIdent).join(', ')
  let run = await channel.save(patch(initial, table.topic, { status: 'running', startedAt: table.startedAt ?? new Date().toISOString(), rowsEstimated: shape.rowsEstimated }))
  let cursor = (run.tables.find((t) => t.topic === table.topic)?.cursor as Cursor | null) ?? { lastKey: null }
  let rowsRead = run.tables.find((t) => t.topic === table.topic)?.rowsRead ?? 0

  for (;;) {
    const current = await channel.get(run.id)
    if (!current || signal.aborted) return current ?? run
    run = current
    const mine = run.tables.find((t) => t.topic === table.topic)
    if (run.status === 'cancelled' || mine?.status === 'cancelled') return run
    if (run.paused) {
      await waitForWake((s) => channel.changed(s), 2000, signal)
      continue
    }
    const attemptKey = `${run.id}\u0000${table.topic}\u0000${JSON.stringify(cursor.lastKey)}`
    const attempts = (chunkAttempts.get(attemptKey) ?? 0) + 1
    if (attempts > MAX_CHUNK_ATTEMPTS) {
      chunkAttempts.delete(attemptKey)
      options.logger.error({ snapshot_id: run.id, topic: table.topic, attempts: MAX_CHUNK_ATTEMPTS }, 'incremental snapshot chunk failed repeatedly: table marked failed')
      return channel.save({
        ...patch(run, table.topic, { status: 'failed', endedAt: new Date().toISOString() }),
        reason: `${table.topic}: the chunk after key ${JSON.stringify(cursor.lastKey)} failed ${MAX_CHUNK_ATTEMPTS} times (the source's last error says why)`,
      })
    }
    chunkAttempts.set(attemptKey, attempts)
    const window = new ChunkWindow(mapped, keyColumns, mapper)
    options.control.interceptor = window
    const conditions: string[] = []
    const params: Array<string | null> = []
    if (cursor.lastKey) {
      conditions.push(`(${keyList}) > (${cursor.lastKey.map((_, i) => `$${i + 1}`).join(', ')})`)
      params.push(...cursor.lastKey)
    }
    if (filter) conditions.push(`(${filter})`)
    const where = conditions.length ? ` WHERE ${conditions.join(' AND ')}` : ''
    const select = `SELECT ${columns} FROM ${quoteTable(name)}${where} ORDER BY ${keyList} LIMIT ${config.incrementalChunkSize}`
    await emitWatermark(options.sql, window.id, 'low')
    const { rows } = await reader.query({ text: select, values: params, rowMode: 'array' })
    const chunk = (rows as Array<Array<string | null>>).map((values) => ({
      values,
      key: keyString(keyIndexes.map((i) => (values[i] === null ? null : mapped.columns[i].mapping.convert(values[i] as string)))),
    }))
    window.rows = chunk
    await emitWatermark(options.sql, window.id, 'high')
    await untilAborted(window.done, signal)
    options.control.interceptor = null
    if (signal.aborted) return run
    chunkAttempts.delete(attemptKey)
    rowsRead += window.emitted
    const last = chunk.at(-1)
    if (last) cursor = { lastKey: keyIndexes.map((i) => last.values[i]) }
    const finished = chunk.length < config.incrementalChunkSize
    run = await channel.save(patch(run, table.topic, finished ? { rowsRead, cursor, status: 'completed', endedAt: new Date().toISOString() } : { rowsRead, cursor }))
    if (finished) return run
  }
}

async function emitWatermark(sql: SqlClient, window: string, kind: 'low' | 'high'): Promise<void> {
  await sql.query('SELECT pg_logical_emit_message(false, $1, $2)', [WATERMARK_PREFIX, JSON.stringify({ window, kind })])
}

function patch(run: SnapshotRun, topic: string, changes: Partial<TableSnapshot>): SnapshotRun {
  return { ...run, tables: run.tables.map((t) => (t.topic === topic ? { ...t, ...changes } : t)) }
}
