/**
 * The append path: validates a call's records, assigns offsets, and writes them in one SQLite transaction, so a
 * call is atomic and (with synchronous=FULL) durable when `append` returns.
 *
 * Backpressure: none is needed here; better-sqlite3 is synchronous, so a caller's `await append()` is the
 * backpressure, and the transaction's length is bounded by the caller's batch size. Crash: a transaction either
 * committed (all records and the new offsets are there) or is discarded as a torn WAL tail (none are).
 */
import { InvalidLogRequestError } from '../log-errors.js'
import { partitionForKey } from '../partitioner.js'
import type { AppendRecord, AppendResult, ValueFrame } from '../topic-log.js'
import { checkValueFrame } from '../value-frame.js'
import { BatchStore } from './batch-store.js'
import type { Db } from './schema.js'
import { BatchEncoder, type EncodedBatch, TARGET_BATCH_BYTES } from './stored-batch.js'
import type { PartitionState, TopicRegistry, TopicState } from './topic-registry.js'

interface PlannedRecord {
  topic: TopicState
  partition: PartitionState
  timestamp: number
  size: number
  key: Buffer | null
  value: Buffer | null
  frame: ValueFrame | undefined
  headers: Buffer | null
}

interface PartitionChange {
  topic: TopicState
  before: PartitionState
  after: PartitionState
  baseOffset: number
  batchMaxTimestamp: number
  /** The blob bytes of the partition's records in this append, then their rows. */
  blobBytes: number
  /** The distinct frames of its records and their bytes: each row that holds a frame's records stores it. */
  frames: Set<ValueFrame>
  distinctFrameBytes: number
  framedBytes: number
  encoder: BatchEncoder | null
  rows: EncodedBatch[]
}

export class Appender {
  private readonly batches: BatchStore
  private readonly insertTimeIndex

  constructor(private readonly db: Db, private readonly registry: TopicRegistry) {
    this.batches = new BatchStore(db)
    this.insertTimeIndex = db.prepare(
      'INSERT OR REPLACE INTO time_index (topic_id, part, base_offset, max_timestamp) VALUES (?, ?, ?, ?)',
    )
  }

  /** Appends and returns the results plus the names of the topics that got records. */
  append(records: AppendRecord[]): { results: AppendResult[]; topics: Set<string> } {
    const now = Date.now()
    const planned = records.map((record, i) => this.plan(record, i, now))
    const changes = new Map<PartitionState, PartitionChange>()
    const results: AppendResult[] = new Array(planned.length)
    for (let i = 0; i < planned.length; i++) {
      const record = planned[i]
      let change = changes.get(record.partition)
      if (change === undefined) {
        const before = record.partition
        change = { topic: record.topic, before, after: { ...before }, baseOffset: before.nextOffset,
          batchMaxTimestamp: Number.MIN_SAFE_INTEGER, blobBytes: 0, frames: new Set(), distinctFrameBytes: 0, framedBytes: 0, encoder: null, rows: [] }
        changes.set(before, change)
      }
      const { after } = change
      results[i] = { topic: record.topic.info.name, partition: after.partition, offset: after.nextOffset }
      change.blobBytes += BatchEncoder.sizeOf(record.key, record.value, record.headers)
      if (record.frame !== undefined) {
        const frameSize = BatchEncoder.frameSize(record.frame)
        change.framedBytes += frameSize
        if (!change.frames.has(record.frame)) {
          change.frames.add(record.frame)
          change.distinctFrameBytes += frameSize
        }
      }
      after.nextOffset++
      after.records++
      after.bytes += record.size
      if (record.timestamp > change.batchMaxTimestamp) change.batchMaxTimestamp = record.timestamp
    }

    // Each partition's records into rows of about TARGET_BATCH_BYTES, in one buffer sized for them all.
    for (let i = 0; i < planned.length; i++) {
      const record = planned[i]
      const change = changes.get(record.partition) as PartitionChange
      change.encoder ??= new BatchEncoder(BatchEncoder.rowsSize(change.blobBytes, change.distinctFrameBytes, change.framedBytes))
      const encoder = change.encoder
      if (encoder.size >= TARGET_BATCH_BYTES) change.rows.push(encoder.cut())
      encoder.add(results[i].offset, record.timestamp, record.key, record.value, record.headers, record.frame)
    }

    this.db.transaction(() => {
      for (const change of changes.values()) {
        const { topic, before, after } = change
        change.rows.push((change.encoder as BatchEncoder).cut())
        for (const row of change.rows) this.batches.insert(topic.id, after.partition, row)
        if (change.batchMaxTimestamp > before.maxTimestamp) {
          after.maxTimestamp = change.batchMaxTimestamp
          this.insertTimeIndex.run(topic.id, after.partition, change.baseOffset, after.maxTimestamp)
        }
        this.registry.savePartition(topic.id, after)
      }
    })()

    // Committed: only now does the in-memory state move on.
    const topics = new Set<string>()
    for (const { topic, before, after } of changes.values()) {
      Object.assign(before, after)
      topics.add(topic.info.name)
    }
    return { results, topics }
  }

  private plan(record: AppendRecord, index: number, now: number): PlannedRecord {
    const field = `records[${index}]`
    const topic = this.registry.require(record.topic)
    const key = toBuffer(record.key, `${field}.key`)
    const value = toBuffer(record.value, `${field}.value`)
    const timestamp = record.timestamp ?? now
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
      throw new InvalidLogRequestError(`${field}.timestamp`, 'timestamp must be a non-negative integer (epoch ms)')
    }
    if (key === null && topic.info.cleanupPolicy === 'compact') {
      // Kafka rejects these too: compaction is by key, so an unkeyed record could never be superseded.
      throw new InvalidLogRequestError(`${field}.key`, `compacted topic '${topic.info.name}' needs a non-null key`)
    }
    const partitionNo = record.partition ?? (key === null ? 0 : partitionForKey(key, topic.info.partitions))
    const partition = this.registry.requirePartition(record.topic, partitionNo).partition
    const headers = encodeHeaders(record.headers, field)
    const frame = checkValueFrame(record.frame, value, `${field}.frame`)
    const size = (key?.length ?? 0) + (value?.length ?? 0) + (headers?.length ?? 0) +
      (frame === undefined ? 0 : frame.prefix.length + frame.suffix.length)
    if (size > topic.info.maxMessageBytes) {
      throw new InvalidLogRequestError(
        field,
        `record of ${size} bytes exceeds maxMessageBytes ${topic.info.maxMessageBytes} of topic ` +
          `'${topic.info.name}'`,
      )
    }
    return { topic, partition, timestamp, size, key, value, frame, headers }
  }
}

function toBuffer(value: Buffer | Uint8Array | null | undefined, field: string): Buffer | null {
  if (value === null || value === undefined) return null
  if (Buffer.isBuffer(value)) return value
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  throw new InvalidLogRequestError(field, `${field} must be a Buffer or null`)
}

function encodeHeaders(headers: Record<string, string> | undefined, field: string): Buffer | null {
  if (headers === undefined) return null
  let empty = true
  for (const name in headers) {
    if (typeof headers[name] !== 'string') {
      throw new InvalidLogRequestError(`${field}.headers.${name}`, 'header values must be strings')
    }
    empty = false
  }
  return empty ? null : Buffer.from(JSON.stringify(headers))
}
