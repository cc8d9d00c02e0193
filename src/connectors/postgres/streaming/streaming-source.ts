/**
 * The streaming phase: replication frames → pgoutput messages → change events → Debezium records → the topic log →
 * an acknowledged slot position. Stages run in one loop on purpose: each one is cheap, and a single loop keeps the
 * order of events and acknowledgements obvious.
 *
 * Backpressure: at most one batch is being appended while the next fills; frames are pulled only while that holds,
 * so a slow log slows the walsender (the replication stream bounds what it buffers). Records are encoded into a
 * RecordBatch as they come; a batch is appended when a transaction commits and no further frame is waiting (low
 * latency when quiet), or when it reaches `MAX_BATCH_RECORDS` or 16 MiB (throughput, and a bound on memory for huge
 * transactions and large rows).
 *
 * Crash behaviour (DESIGN.md guarantee 1): the slot is acknowledged only with the end LSN of a transaction whose
 * events have all been appended durably, or with a keepalive's position while nothing is pending. After a crash the
 * slot replays everything after the last acknowledged position, so events may repeat (detectable by `source.lsn`),
 * never vanish.
 */
import type { ChangeEvent } from '../../../events/change-event.js'
import { encodeKey, encodeValue } from '../../../events/envelope.js'
import { AppendQueue } from '../../../log/append-queue.js'
import { RecordBatch } from '../../../log/record-batch.js'
import type { TopicLog } from '../../../log/topic-log.js'
import type { OffsetStore, SourceMetrics, TaskLogger } from '../../source.js'
import { decodePgOutput } from '../pgoutput/decoder.js'
import type { PgOutputMessage } from '../pgoutput/messages.js'
import type { PostgresSourceConfig } from '../postgres-config.js'
import { emitHeartbeat } from '../replication/heartbeat.js'
import { type Lsn, maxLsn } from '../replication/lsn.js'
import type { ReplicationConnection } from '../replication/replication-connection.js'
import type { ReplicationFrame } from '../replication/replication-frames.js'
import type { ReplicationStream } from '../replication/replication-stream.js'
import { getSlot } from '../replication/slot.js'
import type { SqlClient } from '../replication/sql.js'
import type { TypeRegistry } from '../types/type-registry.js'
import { ChangeMapper, PG_EPOCH_OFFSET_US, type TransactionContext } from './change-mapper.js'
import type { StreamingControl } from './streaming-control.js'
import { loadTableCatalogInfo } from './table-catalog.js'

export const MAX_BATCH_RECORDS = 5000
const OFFSET_SAVE_INTERVAL_MS = 1000
const SLOT_METRICS_INTERVAL_MS = 10_000

export interface StreamingSourceOptions {
  config: PostgresSourceConfig
  log: TopicLog
  offsets: OffsetStore
  metrics: SourceMetrics
  logger: TaskLogger
  signal: AbortSignal
  /** A regular (non-replication) connection for catalog lookups, heartbeats and slot metrics. */
  sql: SqlClient
  replication: ReplicationConnection
  registry: TypeRegistry
  startLsn: Lsn
  /** Reloads the type registry (after a Type message or an unknown type OID). */
  reloadRegistry(): Promise<TypeRegistry>
  onStreaming(): void
  control: StreamingControl
}

export async function runStreaming(options: StreamingSourceOptions): Promise<void> {
  const { config, metrics, logger, signal } = options
  // Debezium restores the last commit LSN from its offset so that `source.sequence` keeps increasing across
  // restarts. The server resumes after max(start LSN, confirmed_flush_lsn): the end of the last delivered transaction.
  const slot = await getSlot(options.sql, config.slotName)
  const resumeLsn = maxLsn(options.startLsn, slot?.confirmedFlushLsn ?? 0n)
  const streamStop = new AbortController()
  const stream = await options.replication.startReplication({
    slot: config.slotName,
    startLsn: options.startLsn,
    publications: [config.publicationName],
    protocolVersion: 1,
    messages: true,
    receiveTimeoutMs: config.replicationTimeoutMs,
    signal: streamStop.signal,
  })
  const streamer = new Streamer(options, stream, resumeLsn > 0n ? resumeLsn : null)
  // On stop: finish the frame in hand, make everything durable and acknowledged, then close the stream.
  const drain = () => void streamer.drain().finally(() => streamStop.abort())
  if (signal.aborted) drain()
  else signal.addEventListener('abort', drain, { once: true })
  metrics.streamingConnected = true
  options.onStreaming()
  logger.info({ slot: config.slotName, start_lsn: options.startLsn.toString() }, 'streaming started')
  const timers = startTimers(options)
  try {
    await streamer.consume()
  } finally {
    signal.removeEventListener('abort', drain)
    metrics.streamingConnected = false
    for (const timer of timers) clearInterval(timer)
    await stream.close()
  }
}

function startTimers(options: StreamingSourceOptions): NodeJS.Timeout[] {
  const { config, sql, metrics, logger } = options
  const timers: NodeJS.Timeout[] = []
  if (config.heartbeatEnabled) {
    // A heartbeat is a non-transactional logical message: it gives an idle or filtered slot something to confirm.
    timers.push(setInterval(() => void emitHeartbeat(sql).catch((err) => logger.debug({ err }, 'heartbeat failed')), config.heartbeatIntervalMs))
  }
  const refreshSlot = () =>
    void getSlot(sql, config.slotName)
      .then((slot) => {
        metrics.retainedWalBytes = slot ? Number(slot.retainedWalBytes) : null
      })
      .catch(() => undefined)
  refreshSlot()
  timers.push(setInterval(refreshSlot, SLOT_METRICS_INTERVAL_MS))
  for (const timer of timers) timer.unref()
  return timers
}

class Streamer {
  private readonly mapper: ChangeMapper
  /** Records encoded as they come (see RecordBatch: nothing per record is kept alive until the append). */
  private pending = new RecordBatch()
  /** End LSN of the last transaction whose records are all in `pending` (or already appended). */
  private ackable: Lsn | null = null
  private tx: TransactionContext | null = null
  private lastCommitLsn: Lsn | null
  private readonly topics = new Set<string>()
  private lastOffsetSave = 0
  private draining: Promise<void> | null = null
  /** Flushes run in order; a failed append fails every later flush (see AppendQueue). */
  private readonly flushes = new AppendQueue()
  /** Frames taken from the stream so far. */
  private framesSeen = 0
  /** The frame being handled, so a drain can wait for it. */
  private busy: Promise<void> = Promise.resolve()

  constructor(
    private readonly options: StreamingSourceOptions,
    private readonly stream: ReplicationStream,
    lastCommitLsn: Lsn | null,
  ) {
    this.lastCommitLsn = lastCommitLsn
    this.mapper = new ChangeMapper(options.config, options.registry)
  }

  async consume(): Promise<void> {
    const { control } = this.options
    const frames = this.stream[Symbol.asyncIterator]()
    try {
      for (;;) {
        // Frames already received are taken without a promise each; only an empty buffer waits.
        let frame = this.stream.takeBuffered()
        if (frame === null) {
          const next = await frames.next()
          if (next.done) break
          frame = next.value
        }
        this.framesSeen++
        if (this.draining) {
          await this.draining
          break
        }
        const gate = control.enter()
        if (gate) await gate
        if (this.draining) {
          await this.draining
          break
        }
        if (frame.kind === 'xlogdata') {
          const handling = this.handle(decodePgOutput(frame.data, { protocolVersion: 1 }), frame.walStart)
          if (handling) {
            this.busy = handling.catch(() => undefined)
            await handling
          }
        }
        if (this.tx === null) await this.atTransactionBoundary(frame)
      }
    } finally {
      await frames.return?.()
    }
    if (!this.draining) await this.flush(true)
  }

  /**
   * Between transactions, with nothing more already received: make what we have durable now (latency), and let a
   * keepalive move the slot past WAL that carried nothing for us.
   */
  private async atTransactionBoundary(frame: ReplicationFrame): Promise<void> {
    const { control } = this.options
    const idle = this.stream.stats.bufferedFrames === 0
    if (idle && frame.kind !== 'keepalive' && !control.pausing) {
      // Quiet: the batch is written while the next frames are decoded; the boundary is announced (a pause may be
      // granted) only once it is durable, and only if no frame came in meanwhile.
      const seen = this.framesSeen
      await this.flushAhead()
      this.flushes.drained().then(() => {
        if (this.framesSeen === seen) control.atBoundary()
      }, () => undefined)
    } else if (idle || frame.kind === 'keepalive' || control.pausing) {
      await this.flush()
      if (frame.kind === 'keepalive' && this.ackable === null) this.acknowledge(frame.walEnd)
      if (idle || control.pausing) control.atBoundary()
    }
  }

  /** Stops taking frames; appends what is pending and acknowledges the last complete transaction. */
  drain(): Promise<void> {
    this.draining ??= (async () => {
      this.options.control.resume()
      await this.busy
      await this.flush(true).catch((err) => this.options.logger.warn({ err }, 'could not flush while stopping'))
      this.options.logger.debug({ acknowledged_lsn: this.options.metrics.lastAcknowledgedLsn }, 'streaming drained')
    })()
    return this.draining
  }

  /** Handles one message; returns a promise only when it has to wait (an append, a catalog lookup). */
  private handle(message: PgOutputMessage, lsn: Lsn): Promise<void> | undefined {
    switch (message.tag) {
      case 'begin':
        this.tx = { xid: message.xid, commitTimeUs: message.commitTime + PG_EPOCH_OFFSET_US, lastCommitLsn: this.lastCommitLsn }
        return undefined
      case 'commit':
        this.tx = null
        this.lastCommitLsn = message.commitLsn
        this.ackable = message.endLsn
        this.options.metrics.millisBehindSource = Math.max(0, Date.now() - Number((message.commitTime + PG_EPOCH_OFFSET_US) / 1000n))
        return this.pending.isFull(MAX_BATCH_RECORDS) ? this.flushAhead() : undefined
      case 'relation':
        return this.defineRelation(message)
      case 'type':
        return this.reloadTypes()
      case 'message':
        return this.handleLogicalMessage(message)
      case 'insert':
      case 'update':
      case 'delete':
      case 'truncate':
        this.addChanges(message, lsn)
        return this.pending.isFull(MAX_BATCH_RECORDS) ? this.flushAhead() : undefined
      default:
        return undefined
    }
  }

  private async handleLogicalMessage(message: Extract<PgOutputMessage, { tag: 'message' }>): Promise<void> {
    const injected = this.options.control.interceptor?.onMessage(message)
    if (injected) {
      this.addEvents(injected.records)
      await this.flush()
      await injected.afterDurable()
    }
    // Heartbeats and other logical messages outside a transaction are boundaries the slot may advance to.
    if (!message.transactional && this.tx === null) this.ackable = message.lsn
  }

  private async defineRelation(message: Extract<PgOutputMessage, { tag: 'relation' }>): Promise<void> {
    if (message.columns.some((c) => !this.options.registry.has(c.typeOid))) await this.reloadTypes()
    const info = await loadTableCatalogInfo(this.options.sql, message.relationId)
    const table = this.mapper.defineRelation(message, info)
    if (!this.topics.has(table.topic)) {
      await this.options.log.createTopic(table.topic, { partitions: this.options.config.topicPartitions })
      this.topics.add(table.topic)
    }
  }

  /** New types (e.g. an enum created after start): reload the registry for the relations defined next. */
  private async reloadTypes(): Promise<void> {
    this.options.registry = await this.options.reloadRegistry()
    this.mapper.useRegistry(this.options.registry)
  }

  private addChanges(message: PgOutputMessage, lsn: Lsn): void {
    const tx = this.tx ?? { xid: 0, commitTimeUs: BigInt(Date.now()) * 1000n, lastCommitLsn: this.lastCommitLsn }
    const changes = this.mapper.map(message, lsn, tx)
    const interceptor = this.options.control.interceptor
    if (interceptor) for (const { topic, event } of changes) interceptor.onChange(topic, event)
    this.addEvents(changes)
  }

  private addEvents(changes: Array<{ topic: string; event: ChangeEvent }>): void {
    const { config, metrics } = this.options
    const encodeOptions = { schemasEnable: config.valueSchemas }
    const keyOptions = { schemasEnable: config.keySchemas }
    for (const { topic, event } of changes) {
      const timestamp = Number(event.source.commitTimeUs / 1000n)
      const key = event.op === 't' ? null : encodeKey(event, keyOptions)
      const value = encodeValue(event, encodeOptions)
      this.pending.add({ topic, key, value, timestamp })
      if (event.op === 'd' && config.tombstonesOnDelete) {
        // A delete's key is already the tombstone's key (encodeTombstoneKey of a delete encodes the same `before`
        // row): share it rather than encode it twice.
        this.pending.add({ topic, key, value: null, timestamp })
      }
      if (event.op === 'c') metrics.createEvents++
      else if (event.op === 'u') metrics.updateEvents++
      else if (event.op === 'd') metrics.deleteEvents++
      else if (event.op === 't') metrics.truncateEvents++
      else if (event.op === 'r') metrics.snapshotEvents++
      metrics.lastEvent = { op: event.op, topic, lsn: event.source.lsn?.toString() ?? null, ts_ms: timestamp }
    }
  }

  /**
   * Cuts the pending records into a batch, appends it durably behind earlier batches, then acknowledges the last
   * transaction complete in it. Batches are appended one after another (a stop's drain may overlap the loop's own
   * flush): an acknowledgement never overtakes an earlier append. A failed append fails every later flush, so
   * nothing after a lost batch can be acknowledged.
   */
  private flush(saveOffset = false): Promise<void> {
    return this.flushes.run(this.cut(saveOffset))
  }

  /**
   * Starts appending a full batch and returns once the batch before it is durable: the log works on its own thread,
   * so decoding the next batch overlaps writing this one, while at most one batch waits in memory.
   */
  private flushAhead(): Promise<void> {
    return this.flushes.runAhead(this.cut(false))
  }

  /** Cuts the pending records (and the transaction they complete) into the work of one flush. */
  private cut(saveOffset: boolean): () => Promise<void> {
    const batch = this.pending
    this.pending = new RecordBatch()
    let ack: Lsn | null = null
    if (this.ackable !== null && this.tx === null) {
      ack = this.ackable
      this.ackable = null
    }
    return () => this.write(batch, ack, saveOffset)
  }

  /** `saveOffset` stores the acknowledged position now rather than at most every OFFSET_SAVE_INTERVAL_MS (stops). */
  private async write(batch: RecordBatch, ack: Lsn | null, saveOffset: boolean): Promise<void> {
    const { log, metrics, offsets } = this.options
    if (batch.length > 0) {
      await log.append(batch)
      metrics.recordsSent += batch.length
      metrics.bytesSent += batch.bytes
      metrics.lastEventAtMs = Date.now()
    }
    if (ack !== null) {
      if (saveOffset || Date.now() - this.lastOffsetSave >= OFFSET_SAVE_INTERVAL_MS) {
        this.lastOffsetSave = Date.now()
        await offsets.save({ lsn: ack.toString() })
      }
      this.acknowledge(ack)
    }
  }

  private acknowledge(lsn: Lsn): void {
    this.stream.acknowledge(lsn)
    this.options.metrics.lastAcknowledgedLsn = lsn.toString()
  }
}
