/**
 * The append path: validates a call's records, assigns offsets, and writes them in one SQLite transaction, so a
 * call is atomic and (with synchronous=FULL) durable when `append` returns. Calls that wait together (the threaded
 * log's worker finds several queued) share one transaction and its syncs, each call a savepoint (`group`).
 *
 * Backpressure: none is needed here; better-sqlite3 is synchronous, so a caller's `await append()` is the
 * backpressure, and the transaction's length is bounded by the caller's batch size. Crash: a transaction either
 * committed (all records and the new offsets are there) or is discarded as a torn WAL tail (none are).
 */
import { InvalidLogRequestError } from '../log-errors.js'
import { partitionForKey } from '../partitioner.js'
import { ABSENT, FIELDS, type PackedAppendResults, type PackedRecords, packAppendResults, unpackAppendRecords } from '../record-batch.js'
import type { AppendRecord, AppendResult, ValueFrame } from '../topic-log.js'
import { checkValueFrame } from '../value-frame.js'
import type { BatchStore } from './batch-store.js'
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
  /** The blob bytes of the partition's records in this append (as format 2 stores them; of which record headers). */
  blobBytes: number
  headerBytes: number
  /** The distinct frames of its records and their bytes: each row that holds a frame's records stores it. */
  frames: Set<ValueFrame>
  distinctFrameBytes: number
  framedBytes: number
  encoder: BatchEncoder | null
  rows: EncodedBatch[]
}

export class Appender {
  private readonly insertTimeIndex
  /**
   * While `group` runs: each partition its appends moved on in memory, with its state before the group, to put back
   * if the group's transaction does not commit.
   */
  private grouped: Map<PartitionState, PartitionState> | null = null

  constructor(private readonly db: Db, private readonly registry: TopicRegistry, private readonly batches: BatchStore) {
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
      const change = changeFor(changes, record.topic, record.partition)
      results[i] = { topic: record.topic.info.name, partition: change.after.partition, offset: change.after.nextOffset }
      count(change, BatchEncoder.sizeOf(record.key, record.value, record.headers), record.frame, record.size, record.timestamp)
    }
    // Each partition's records into rows of about TARGET_BATCH_BYTES, in one buffer sized for them all.
    for (let i = 0; i < planned.length; i++) {
      const record = planned[i]
      const encoder = encoderOf(changes.get(record.partition) as PartitionChange, false)
      encoder.add(results[i].offset, record.timestamp, record.key, record.value, record.headers, record.frame)
    }
    return { results, topics: this.commit(changes) }
  }

  /**
   * `append` for records in their packed form (record-batch.ts: what a RecordBatch and the threaded log hand over),
   * read where they are in the packed buffer: no record object or Buffer per record, which were about half of the
   * log thread's JavaScript time in a snapshot. The same checks (with the same errors) and offsets; rows in format 3,
   * whose payloads are views of the packed buffer (stored-batch.ts). Records with headers go through `append`.
   */
  appendPacked(packed: PackedRecords): { results: PackedAppendResults; topics: Set<string> } {
    if (packed.headers) {
      const { results, topics } = this.append(unpackAppendRecords(packed))
      return { results: packAppendResults(results), topics }
    }
    const { count: total, meta, data, frameOf } = packed
    const frames = packed.frames ?? null
    const now = Date.now()
    // Looked up at their first record, so errors come in record order as `append`'s do.
    const topics = new Array<TopicState | undefined>(packed.topics.length)
    const changes = new Map<PartitionState, PartitionChange>()
    const changeOf = new Array<PartitionChange>(total)
    const keyAt = new Int32Array(total)
    const timestamps = new Float64Array(total)
    const results = new Float64Array(total * 3)
    const checked = frames === null ? null : new Uint8Array(frames.length)
    let at = 0
    for (let i = 0; i < total; i++) {
      const m = i * FIELDS
      const topic = (topics[meta[m]] ??= this.registry.require(packed.topics[meta[m]]))
      const keyLength = meta[m + 4]
      const valueLength = meta[m + 5]
      keyAt[i] = at
      const timestamp = (timestamps[i] = meta[m + 3] === ABSENT ? now : meta[m + 3])
      if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw badTimestamp(i)
      if (keyLength === ABSENT && topic.info.cleanupPolicy === 'compact') throw unkeyedCompacted(topic, i)
      const partitionNo = meta[m + 1] !== ABSENT ? meta[m + 1]
        : keyLength === ABSENT ? 0 : partitionForKey(data, topic.info.partitions, at, at + keyLength)
      const partition = topic.partitions[partitionNo] ?? this.registry.requirePartition(topic.info.name, partitionNo).partition
      const payload = Math.max(keyLength, 0) + Math.max(valueLength, 0)
      at += payload
      const k = frameOf ? frameOf[i] : ABSENT
      const frame = k === ABSENT ? undefined : (frames as ValueFrame[])[k]
      if (frame !== undefined && (checked?.[k] === 0 || valueLength === ABSENT)) {
        checkValueFrame(frame, valueLength === ABSENT ? null : data, `records[${i}].frame`)
        ;(checked as Uint8Array)[k] = 1
      }
      const size = payload + (frame === undefined ? 0 : frame.prefix.length + frame.suffix.length)
      if (size > topic.info.maxMessageBytes) throw tooLarge(topic, i, size)
      const change = changeFor(changes, topic, partition)
      changeOf[i] = change
      results[i * 3] = meta[m]
      results[i * 3 + 1] = partitionNo
      results[i * 3 + 2] = change.after.nextOffset
      count(change, BatchEncoder.sizeOfLengths(keyLength, valueLength), frame, size, timestamp)
    }
    for (let i = 0; i < total; i++) {
      const m = i * FIELDS
      const keyLength = meta[m + 4]
      const k = frameOf ? frameOf[i] : ABSENT
      encoderOf(changeOf[i], true).addRange(results[i * 3 + 2], timestamps[i], data, keyAt[i], keyLength,
        keyAt[i] + Math.max(keyLength, 0), meta[m + 5], k === ABSENT ? undefined : (frames as ValueFrame[])[k])
    }
    return { results: { topics: packed.topics, meta: results }, topics: this.commit(changes) }
  }

  /**
   * Runs `appends` (calls of `append` and `appendPacked`) in one transaction, with one sync of the payloads and one
   * of the WAL for them all: group commit. Each call is a savepoint of its own, so one that fails (its error thrown to
   * `appends`, which decides what to do with it) leaves no trace, and the others commit. If the transaction fails,
   * nothing of it was stored and the partitions' offsets in memory go back to where they were.
   */
  group<T>(appends: () => T): T {
    if (this.grouped !== null) return appends()
    const grouped = new Map<PartitionState, PartitionState>()
    this.grouped = grouped
    try {
      return this.db.transaction(() => {
        const result = appends()
        // The rows' payloads are durable before the rows that point at them are (segment-files.ts).
        this.batches.syncPayloads()
        return result
      })()
    } catch (error) {
      for (const [state, before] of grouped) Object.assign(state, before)
      throw error
    } finally {
      this.grouped = null
    }
  }

  /**
   * Writes the changes' rows (as a group of one, unless a group is open), then moves the partitions on in memory (a
   * group remembers where they were). Returns their topics.
   */
  private commit(changes: Map<PartitionState, PartitionChange>): Set<string> {
    const write = () => {
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
    }
    // In a group, a savepoint of the group's transaction; alone, a transaction of its own (no savepoint to pay for).
    if (this.grouped !== null) this.db.transaction(write)()
    else this.group(write)

    // Written: the next append in the group starts from here.
    const topics = new Set<string>()
    for (const { topic, before, after } of changes.values()) {
      if (this.grouped !== null && !this.grouped.has(before)) this.grouped.set(before, { ...before })
      Object.assign(before, after)
      topics.add(topic.info.name)
    }
    return topics
  }

  private plan(record: AppendRecord, index: number, now: number): PlannedRecord {
    const field = `records[${index}]`
    const topic = this.registry.require(record.topic)
    const key = toBuffer(record.key, `${field}.key`)
    const value = toBuffer(record.value, `${field}.value`)
    const timestamp = record.timestamp ?? now
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw badTimestamp(index)
    if (key === null && topic.info.cleanupPolicy === 'compact') throw unkeyedCompacted(topic, index)
    const partitionNo = record.partition ?? (key === null ? 0 : partitionForKey(key, topic.info.partitions))
    const partition = this.registry.requirePartition(record.topic, partitionNo).partition
    const headers = encodeHeaders(record.headers, field)
    const frame = checkValueFrame(record.frame, value, `${field}.frame`)
    const size = (key?.length ?? 0) + (value?.length ?? 0) + (headers?.length ?? 0) +
      (frame === undefined ? 0 : frame.prefix.length + frame.suffix.length)
    if (size > topic.info.maxMessageBytes) throw tooLarge(topic, index, size)
    return { topic, partition, timestamp, size, key, value, frame, headers }
  }
}

/** The partition's change in this append, made on its first record. */
function changeFor(changes: Map<PartitionState, PartitionChange>, topic: TopicState, before: PartitionState): PartitionChange {
  let change = changes.get(before)
  if (change === undefined) {
    change = { topic, before, after: { ...before }, baseOffset: before.nextOffset, batchMaxTimestamp: Number.MIN_SAFE_INTEGER,
      blobBytes: 0, headerBytes: 0, frames: new Set(), distinctFrameBytes: 0, framedBytes: 0, encoder: null, rows: [] }
    changes.set(before, change)
  }
  return change
}

/** Counts a record (`blobBytes` of it in a row, `size` in the partition's totals) into its partition's change. */
function count(change: PartitionChange, blobBytes: number, frame: ValueFrame | undefined, size: number, timestamp: number): void {
  change.blobBytes += blobBytes
  change.headerBytes += BatchEncoder.sizeOfLengths(ABSENT, ABSENT)
  if (frame !== undefined) {
    const frameSize = BatchEncoder.frameSize(frame)
    change.framedBytes += frameSize
    if (!change.frames.has(frame)) {
      change.frames.add(frame)
      change.distinctFrameBytes += frameSize
    }
  }
  const { after } = change
  after.nextOffset++
  after.records++
  after.bytes += size
  if (timestamp > change.batchMaxTimestamp) change.batchMaxTimestamp = timestamp
}

/**
 * The change's encoder, made on first use with room for all its rows (`split`: format 3 rows, whose blobs hold only
 * record headers and frames).
 */
function encoderOf(change: PartitionChange, split: boolean): BatchEncoder {
  change.encoder ??= new BatchEncoder(BatchEncoder.rowsSize(split ? change.headerBytes : change.blobBytes,
    change.distinctFrameBytes, change.framedBytes), split)
  const encoder = change.encoder
  if (encoder.size >= TARGET_BATCH_BYTES) change.rows.push(encoder.cut())
  return encoder
}

function badTimestamp(index: number): InvalidLogRequestError {
  return new InvalidLogRequestError(`records[${index}].timestamp`, 'timestamp must be a non-negative integer (epoch ms)')
}

function unkeyedCompacted(topic: TopicState, index: number): InvalidLogRequestError {
  // Kafka rejects these too: compaction is by key, so an unkeyed record could never be superseded.
  return new InvalidLogRequestError(`records[${index}].key`, `compacted topic '${topic.info.name}' needs a non-null key`)
}

function tooLarge(topic: TopicState, index: number, size: number): InvalidLogRequestError {
  return new InvalidLogRequestError(`records[${index}]`,
    `record of ${size} bytes exceeds maxMessageBytes ${topic.info.maxMessageBytes} of topic '${topic.info.name}'`)
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
