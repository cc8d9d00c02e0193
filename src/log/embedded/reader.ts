/**
 * Reads by offset and by timestamp. A read seeks to the row holding its first offset (batch-store.ts) and walks
 * rows forward; keys, values and headers come out as views of the rows' blobs, so nothing is copied per record.
 *
 * Backpressure: a read returns at most `maxRecords` records and stops once `maxBytes` is passed (always at least one
 * record); it loads only the rows it returns records from. Reads never see a partial append: each append is one
 * transaction.
 */
import { InvalidLogRequestError } from '../log-errors.js'
import { type PackedRecords, RecordBatch } from '../record-batch.js'
import type { Headers, LogRecord, PartitionOffsets, ReadOptions } from '../topic-log.js'
import type { BatchStore } from './batch-store.js'
import type { BatchCursor } from './stored-batch.js'
import type { Db } from './schema.js'
import type { TopicRegistry } from './topic-registry.js'

/** Kafka's max.poll.records. */
export const DEFAULT_MAX_RECORDS = 500
/** Kafka's max.partition.fetch.bytes. */
export const DEFAULT_MAX_BYTES = 1024 * 1024
/** The packed buffer a read starts with. */
const SMALL_READ = { records: 256, bytes: 64 * 1024 }


export class Reader {
  private readonly selectTimeIndex

  constructor(db: Db, private readonly registry: TopicRegistry, private readonly batches: BatchStore) {
    this.selectTimeIndex = db
      .prepare(
        'SELECT base_offset FROM time_index WHERE topic_id = ? AND part = ? AND max_timestamp >= ? ' +
          'ORDER BY max_timestamp, base_offset LIMIT 1',
      )
      .pluck(true)
  }

  read(topicName: string, partitionNo: number, fromOffset: number, options: ReadOptions = {}): LogRecord[] {
    const records: LogRecord[] = []
    const decodeHeaders = createHeadersDecoder()
    this.walk(topicName, partitionNo, fromOffset, options, (record) => {
      records.push({
        topic: topicName,
        partition: partitionNo,
        offset: record.offset,
        timestamp: record.timestamp,
        key: record.key,
        value: record.value,
        headers: decodeHeaders(record.headers),
      })
    })
    return records
  }

  /**
   * `read`, packed for another thread (record-batch.ts): keys and values copied from the stored rows straight into
   * the packed buffer, with no record object or view per record on the way (the threaded log's reads). Framed values
   * keep their frames, each stored row's once, so a reader that knows the frame need not look at it again.
   */
  readPacked(topicName: string, partitionNo: number, fromOffset: number, options: ReadOptions = {}): PackedRecords {
    // Sized for a small read (a paced stream's few records); a large one grows it. Without a size the batch starts
    // at a megabyte, which every read would allocate anew (the buffer leaves this thread with the result).
    const batch = new RecordBatch(SMALL_READ)
    let headers: Headers | null = null
    let lastHeaders: Buffer | null = null
    this.walk(topicName, partitionNo, fromOffset, options, (record) => {
      if (record.headersLength > 0) {
        const bytes = record.headers as Buffer
        if (lastHeaders === null || !bytes.equals(lastHeaders)) headers = JSON.parse(bytes.toString()) as Headers
        lastHeaders = bytes
      }
      batch.addStored(topicName, partitionNo, record.offset, record.timestamp, record, record.valueFrame,
        record.headersLength > 0 ? { ...headers } : null)
    })
    return batch.pack()
  }

  /** Visits the records a read returns (see the file comment for the limits), after checking its arguments. */
  private walk(topicName: string, partitionNo: number, fromOffset: number, options: ReadOptions, visit: (record: BatchCursor) => void): void {
    const { topic, partition } = this.registry.requirePartition(topicName, partitionNo)
    const maxRecords = options.maxRecords ?? DEFAULT_MAX_RECORDS
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES
    if (!Number.isSafeInteger(fromOffset) || fromOffset < 0) {
      throw new InvalidLogRequestError('fromOffset', 'fromOffset must be a non-negative integer')
    }
    if (!Number.isInteger(maxRecords) || maxRecords < 1) {
      throw new InvalidLogRequestError('maxRecords', 'maxRecords must be a positive integer')
    }
    if (!(maxBytes >= 1)) throw new InvalidLogRequestError('maxBytes', 'maxBytes must be positive')
    if (fromOffset >= partition.nextOffset || partition.records === 0) return

    let count = 0
    let bytes = 0
    this.batches.scan(topic.id, partitionNo, fromOffset, (record) => {
      if (count > 0 && bytes + record.size > maxBytes) return false
      bytes += record.size
      visit(record)
      // Stop at maxRecords before the next stored row is loaded.
      return ++count < maxRecords
    })
  }

  offsets(topicName: string, partitionNo: number): PartitionOffsets {
    const { topic, partition } = this.registry.requirePartition(topicName, partitionNo)
    const first = this.batches.firstOffset(topic.id, partitionNo)
    return { earliest: first ?? partition.nextOffset, latest: partition.nextOffset }
  }

  offsetForTimestamp(topicName: string, partitionNo: number, timestamp: number): number | null {
    const { topic } = this.registry.requirePartition(topicName, partitionNo)
    return this.offsetForTimestampById(topic.id, partitionNo, timestamp)
  }

  /**
   * Every record before the time-index entry found has a timestamp below `timestamp` (the entries hold a running
   * maximum), so scanning forward from it finds the earliest qualifying record even when timestamps go backwards.
   */
  offsetForTimestampById(topicId: number, partitionNo: number, timestamp: number): number | null {
    const base = this.selectTimeIndex.get(topicId, partitionNo, timestamp) as number | undefined
    if (base === undefined) return null
    let found: number | null = null
    this.batches.scan(topicId, partitionNo, base, (record) => {
      if (record.timestamp < timestamp) return true
      found = record.offset
      return false
    }, timestamp)
    return found
  }

  stats(topicName: string, partitionNo: number): { records: number; bytes: number } {
    const { partition } = this.registry.requirePartition(topicName, partitionNo)
    return { records: partition.records, bytes: partition.bytes }
  }
}

/**
 * Change events of one table mostly carry identical headers: parse each distinct text once per read, and give
 * every record its own copy so a caller may mutate one record's headers without touching another's.
 */
function createHeadersDecoder(): (bytes: Buffer | null) => Headers {
  let lastBytes: Buffer | null = null
  let last: Headers = {}
  return (bytes) => {
    if (bytes === null) return {}
    if (lastBytes === null || !bytes.equals(lastBytes)) {
      last = JSON.parse(bytes.toString()) as Headers
      lastBytes = bytes
    }
    return { ...last }
  }
}
