/**
 * Reads the tables of a snapshot run under one consistent snapshot — the slot's exported snapshot for an initial
 * snapshot, or one taken now for a blocking snapshot — and emits `op: "r"` events.
 *
 * Tables are read in CTID block-range chunks (PeerDB's approach): sequential I/O, tables with or without a primary
 * key, and `snapshot.max.threads` connections that import the same exported snapshot and share the chunk queue.
 * After each chunk is durable its start block is recorded in the run, so a crash or restart resumes at the next
 * chunk. A resumed run reads under a newer snapshot: rows changed meanwhile also arrive from the stream, so the topic
 * converges on the source (duplicates possible, nothing lost). If the table was rewritten in between (VACUUM FULL,
 * CLUSTER: a new relfilenode, so CTIDs moved) the table starts over.
 *
 * Stopping: the signal cancels the running COPY queries on the server; a table or run cancelled through the API is
 * noticed at the next chunk boundary.
 */
import pg from 'pg'
import type { SnapshotChannel, SnapshotRun, TableSnapshot } from '../../snapshot-run.js'
import type { SourceMetrics, TaskLogger } from '../../source.js'
import type { TopicLog } from '../../../log/topic-log.js'
import type { PostgresSourceConfig } from '../postgres-config.js'
import type { Lsn } from '../replication/lsn.js'
import { endClient, settledWithin } from '../../../util/pg-connection-ending.js'
import { quoteIdent, quoteLiteral, quoteTable } from '../replication/sql.js'
import { ChangeMapper, type MappedTable, millisecondClock } from '../streaming/change-mapper.js'
import type { TypeRegistry } from '../types/type-registry.js'
import { copyRows } from './copy-reader.js'
import { CopyRowEncoder } from './copy-row-encoder.js'
import { SnapshotEmitter } from './snapshot-emitter.js'
import { readTableShape } from './table-schema-reader.js'

/** 8 MB of heap per chunk: small enough to resume cheaply, large enough that per-chunk overhead vanishes. */
const CHUNK_BLOCKS = 1024
/**
 * Attempts at a table that may fail in a row, with no chunk completed in between, before the table is marked failed.
 * A failure that repeats (a row too large for its topic, a value a converter rejects) would otherwise restart the task
 * for ever: each attempt appends the chunk's rows up to the failure again, and a blocking snapshot holds streaming
 * paused meanwhile, so the source's slot retains WAL. An outage fails at connect, before any table is read.
 */
const MAX_TABLE_FAILURES = 5

interface ChunkCursor {
  relfilenode: number
  chunkBlocks: number
  done: number[]
  /** Attempts that failed since the last completed chunk (see MAX_TABLE_FAILURES). */
  failures?: number
}

export interface ReadTablesOptions {
  run: SnapshotRun
  channel: SnapshotChannel
  config: PostgresSourceConfig
  registry: TypeRegistry
  log: TopicLog
  metrics: SourceMetrics
  logger: TaskLogger
  signal: AbortSignal
  /** Import this exported snapshot; null takes a new snapshot now. */
  snapshotName: string | null
  /** The LSN the snapshot corresponds to (stamped as `source.lsn`); taken with the snapshot when null. */
  lsn: Lsn | null
  ensureTopic(topic: string): Promise<void>
}

/** Text values only: converters parse PostgreSQL's text output, so `pg` must not parse anything itself. */
const TEXT_TYPES = { getTypeParser: () => (value: string) => value }

interface SnapshotConnection {
  client: pg.Client
  name: string
  lsn: Lsn
  /** float8 comes out in its shortest exact form (see CopyRowEncoder). */
  shortestFloats: boolean
}

async function openSnapshotConnection(config: PostgresSourceConfig, snapshotName: string | null): Promise<SnapshotConnection> {
  const client = new pg.Client({ ...config.connection, types: TEXT_TYPES } as pg.ClientConfig)
  client.on('error', () => undefined)
  await client.connect()
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
  // UTC text for timestamptz (see connectReplication); SET LOCAL ends with the transaction, so it is pooler-safe.
  await client.query("SET LOCAL TimeZone = 'UTC'")
  // From PostgreSQL 12 any extra_float_digits above 0 prints floats exactly, in the shortest form; a database or role
  // may have set it to 0 (15 rounded digits). Earlier servers have no shortest form and are left as they are.
  // SHOW, not SELECT: nothing may take a snapshot before SET TRANSACTION SNAPSHOT.
  const { rows: [version] } = await client.query('SHOW server_version_num')
  const shortestFloats = Number(version.server_version_num) >= 120000
  if (shortestFloats) await client.query('SET LOCAL extra_float_digits = 1')
  if (snapshotName) {
    await client.query(`SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshotName)}`)
    return { client, name: snapshotName, lsn: 0n, shortestFloats }
  }
  const { rows: [row] } = await client.query('SELECT pg_export_snapshot() AS name, pg_current_wal_lsn()::text AS lsn')
  const [hi, lo] = String(row.lsn).split('/')
  return { client, name: String(row.name), lsn: (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`), shortestFloats }
}

export async function readSnapshotTables(options: ReadTablesOptions): Promise<SnapshotRun> {
  const { config, signal, logger } = options
  const coordinator = await openSnapshotConnection(config, options.snapshotName)
  const workers: pg.Client[] = [coordinator.client]
  const lsn = options.lsn ?? coordinator.lsn
  let run = options.run
  try {
    for (let i = 1; i < config.snapshotMaxThreads; i++) workers.push((await openSnapshotConnection(config, coordinator.name)).client)
    const mapper = new ChangeMapper(config, options.registry)
    const encoder = new CopyRowEncoder(mapper, { shortestFloats: coordinator.shortestFloats })
    const emitter = new SnapshotEmitter(options.log, config, options.metrics, encoder)
    const startedAt = new Date().toISOString()
    run = await options.channel.save({ ...run, status: 'running', startedAt: run.startedAt ?? startedAt })
    for (const table of run.tables) {
      if (table.status !== 'pending' && table.status !== 'running') continue
      const current = await options.channel.get(run.id)
      if (!current || current.status === 'cancelled' || signal.aborted) return current ?? run
      run = current
      const state = run.tables.find((t) => t.topic === table.topic) as TableSnapshot
      if (state.status === 'cancelled') continue
      try {
        run = await readTable({ ...options, run, state, mapper, encoder, emitter, workers, lsn, isLastTable: isLast(run, table) })
      } catch (error) {
        // The task restarts either way (the emitter and connections may be unusable); a table that keeps failing is
        // marked failed first, so the restarted run skips it and goes on with the rest.
        if (!signal.aborted) await noteTableFailure(options, run.id, table.topic, error)
        throw error
      }
      if (run.status === 'cancelled' || signal.aborted) return run
    }
    await emitter.checkpoint('run')
    const ended = new Date().toISOString()
    const failed = run.tables.some((t) => t.status === 'failed')
    run = await options.channel.save({ ...run, status: failed ? 'failed' : 'completed', endedAt: ended })
    logger.info({ snapshot_id: run.id, type: run.type, status: run.status }, 'snapshot finished')
    return run
  } finally {
    await Promise.all(workers.map((w) => settledWithin(w.query('COMMIT')).then(() => endClient(w))))
    logger.debug({ snapshot_id: run.id, aborted: signal.aborted }, 'snapshot connections closed')
  }
}

/** Counts a failed attempt at a table; at MAX_TABLE_FAILURES the table is marked failed, with the error as reason. */
async function noteTableFailure(options: ReadTablesOptions, runId: string, topic: string, error: unknown): Promise<void> {
  const run = await options.channel.get(runId)
  const state = run?.tables.find((t) => t.topic === topic)
  if (!run || !state || state.status !== 'running') return
  const cursor = { ...(state.cursor as Partial<ChunkCursor> | null) }
  cursor.failures = (cursor.failures ?? 0) + 1
  const message = error instanceof Error ? error.message : String(error)
  if (cursor.failures < MAX_TABLE_FAILURES) {
    await options.channel.save(patchTable(run, topic, { cursor }))
    return
  }
  options.logger.error({ snapshot_id: runId, topic, attempts: cursor.failures, err: error }, 'snapshot of a table failed repeatedly: marked failed')
  await options.channel.save({
    ...patchTable(run, topic, { status: 'failed', endedAt: new Date().toISOString(), cursor }),
    reason: `${topic}: ${message} (${cursor.failures} attempts)`,
  })
}

function isLast(run: SnapshotRun, table: TableSnapshot): boolean {
  const remaining = run.tables.filter((t) => t.status === 'pending' || t.status === 'running')
  return remaining.at(-1)?.topic === table.topic
}

async function readTable(
  options: ReadTablesOptions & { state: TableSnapshot; mapper: ChangeMapper; encoder: CopyRowEncoder; emitter: SnapshotEmitter; workers: pg.Client[]; lsn: Lsn; isLastTable: boolean },
): Promise<SnapshotRun> {
  const { state, mapper, encoder, emitter, workers, signal, channel } = options
  const name = { schema: state.schema, table: state.table }
  const shape = await readTableShape(workers[0], name)
  const mapped = mapper.defineRelation(
    { tag: 'relation', relationId: shape.relationId, schema: shape.schema, name: shape.table, replicaIdentity: shape.replicaIdentity, columns: shape.columns },
    { primaryKey: shape.primaryKey, notNull: shape.notNull },
  )
  await options.ensureTopic(mapped.topic)
  const { rows: [size] } = await workers[0].query(
    `SELECT (pg_relation_size(c.oid) / current_setting('block_size')::int)::int8 AS blocks, c.relfilenode::int8 AS relfilenode
       FROM pg_class c WHERE c.oid = $1`,
    [shape.relationId],
  )
  const blocks = Number(size.blocks)
  const relfilenode = Number(size.relfilenode)
  const previous = state.cursor as Partial<ChunkCursor> | null
  const resumable = previous?.done && previous.relfilenode === relfilenode && previous.chunkBlocks === CHUNK_BLOCKS
  const cursor: ChunkCursor = resumable
    ? { ...(previous as ChunkCursor), done: [...(previous.done as number[])] }
    : { relfilenode, chunkBlocks: CHUNK_BLOCKS, done: [], failures: previous?.failures ?? 0 }
  let rowsRead = resumable ? state.rowsRead : 0
  const lastStart = await lastChunkWithRows(workers[0], name, Math.floor(Math.max(blocks - 1, 0) / CHUNK_BLOCKS) * CHUNK_BLOCKS)
  const starts: number[] = []
  for (let start = 0; start <= lastStart; start += CHUNK_BLOCKS) if (!cursor.done.includes(start)) starts.push(start)

  let run = await channel.save(patchTable(options.run, state.topic, { status: 'running', startedAt: state.startedAt ?? new Date().toISOString(), rowsEstimated: shape.rowsEstimated, cursor, rowsRead }))
  emitter.startTable()
  const columns = mapped.columns.map((c) => quoteIdent(c.name)).join(', ') || 'NULL'
  let stop = false
  let saving = Promise.resolve()
  /** A progress save that failed: the read stops at the next chunk (saves run behind the read, see below). */
  let saveFailure: { error: unknown } | null = null
  /** Set when the table is left early: a save still waiting must not write this table's stale run over later ones. */
  let abandoned = false
  /** Readers inside a chunk's COPY: a reader that ends its chunk while others still read leaves the markers to them. */
  let copying = 0

  const nowUs = millisecondClock()
  const work = async (client: pg.Client) => {
    while (!stop && !signal.aborted) {
      if (saveFailure) throw saveFailure.error
      const start = starts.shift()
      if (start === undefined) return
      // The last chunk is open-ended: a row visible to the snapshot cannot live beyond the size measured in it, but
      // an open end costs nothing and keeps that true by construction.
      const upper = start === lastStart ? '' : ` AND ctid < '(${start + CHUNK_BLOCKS},0)'::tid`
      const sql = `SELECT ${columns} FROM ${quoteTable(name)} WHERE ctid >= '(${start},0)'::tid${upper}`
      let count = 0
      copying++
      try {
        for await (const { bytes, rows, count: chunkRows } of copyRows(client, sql, { signal, cancelConfig: options.config.connection })) {
          const full = emitter.emitRows(mapped, bytes, rows, chunkRows, options.lsn, nowUs())
          count += chunkRows
          if (full) await full
        }
      } finally {
        copying--
      }
      // The table's end releases the held record with its marker and waits for the log. A chunk's end does not stop
      // the read: its progress is saved once the batches that follow have made its rows durable (a stall at every
      // chunk cost about 4 ms, 2-3% of a run). Saves are serialized, as chunks finish in any order with several
      // readers, and none is made after a stop: a chunk left unsaved is read again, never skipped.
      const tableEnd = starts.length === 0 && copying === 0
      const durable = tableEnd ? emitter.checkpoint(options.isLastTable ? 'run' : 'table') : emitter.emitted()
      // Its failure is seen where the save chain awaits it; until then it must not count as unhandled.
      durable.catch(() => undefined)
      saving = saving.then(async () => {
        await durable
        if (signal.aborted || abandoned) return
        cursor.done.push(start)
        cursor.failures = 0
        rowsRead += count
        run = await channel.save(patchTable(run, state.topic, { rowsRead, cursor }))
        const mine = run.tables.find((t) => t.topic === state.topic)
        if (run.status === 'cancelled' || mine?.status === 'cancelled') stop = true
      })
      saving.catch((error: unknown) => {
        saveFailure ??= { error }
      })
      if (tableEnd) await saving
    }
  }
  await Promise.all(workers.map((client) => work(client)))
  // After a stop no batch follows, so a save still waiting for its chunk to become durable would wait for ever.
  if (signal.aborted || stop) {
    abandoned = true
    return run
  }
  await saving
  if (signal.aborted || stop) return run
  return channel.save(patchTable(run, state.topic, { status: 'completed', endedAt: new Date().toISOString(), rowsRead }))
}

/**
 * The start of the last chunk holding a row visible to the snapshot. Trailing chunks can be empty (a table whose
 * tail was emptied by deletes and not yet truncated by VACUUM); reading them last would leave the table's real last
 * row without its `last_in_data_collection` / `last` marker, which is decided when the final chunk ends. Each probe
 * reads at most one chunk (a TID range scan stopping at the first visible row); the open-ended final chunk still
 * covers everything after it.
 */
async function lastChunkWithRows(client: pg.Client, name: { schema: string; table: string }, lastStart: number): Promise<number> {
  for (let start = lastStart; start > 0; start -= CHUNK_BLOCKS) {
    const { rows } = await client.query(`SELECT 1 FROM ${quoteTable(name)} WHERE ctid >= '(${start},0)'::tid LIMIT 1`)
    if (rows.length > 0) return start
  }
  return 0
}

function patchTable(run: SnapshotRun, topic: string, patch: Partial<TableSnapshot>): SnapshotRun {
  return { ...run, tables: run.tables.map((t) => (t.topic === topic ? { ...t, ...patch } : t)) }
}

export type { MappedTable }
