/**
 * Reads by offset and by timestamp. A read seeks to the row holding its first offset (batch-store.ts) and walks
 * rows forward; keys, values and headers come out as views of the rows' blobs, so nothing is copied per record.
 *
 * Backpressure: a read returns at most `maxRecords` records and stops once `maxBytes` is passed (always at least one
 * record); it loads only the rows it returns records from. Reads never see a partial append: each append is one
 * transaction.
 */
import { InvalidLogRequestError } from '../log-errors.js'
import type { Headers, LogRecord, PartitionOffsets, ReadOptions } from '../topic-log.js'
import { BatchStore } from './batch-store.js'
import type { Db } from './schema.js'
import { BatchCursor } from './stored-batch.js'
import type { TopicRegistry } from './topic-registry.js'

/** Kafka's max.poll.records. */
export const DEFAULT_MAX_RECORDS = 500
/** Kafka's max.partition.fetch.bytes. */
export const DEFAULT_MAX_BYTES = 1024 * 1024


export class Reader {
  private readonly batches: BatchStore
  private readonly selectTimeIndex

  constructor(db: Db, private readonly registry: TopicRegistry) {
    this.batches = new BatchStore(db)
    this.selectTimeIndex = db
      .prepare(
        'SELECT base_offset FROM time_index WHERE topic_id = ? AND part = ? AND max_timestamp >= ? ' +
          'ORDER BY max_timestamp, base_offset LIMIT 1',
      )
      .pluck(true)
  }

  read(topicName: string, partitionNo: number, fromOffset: number, options: ReadOptions = {}): LogRecord[] {
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
    if (fromOffset >= partition.nextOffset || partition.records === 0) return []

    const records: LogRecord[] = []
    let bytes = 0
    const decodeHeaders = createHeadersDecoder()
    let from = fromOffset
    for (;;) {
      const row = this.batches.rowFrom(topic.id, partitionNo, from)
      if (row === undefined) return records
      const cursor = new BatchCursor(row.baseOffset, row.data)
      while (cursor.next()) {
        if (cursor.offset < from) continue
        if (records.length > 0 && (records.length === maxRecords || bytes + cursor.size > maxBytes)) return records
        bytes += cursor.size
        records.push({
          topic: topicName,
          partition: partitionNo,
          offset: cursor.offset,
          timestamp: cursor.timestamp,
          key: cursor.key,
          value: cursor.value,
          headers: decodeHeaders(cursor.headers),
        })
      }
      if (records.length === maxRecords) return records
      from = row.lastOffset + 1
    }
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
    let from = base
    for (;;) {
      const row = this.batches.rowFromAtTime(topicId, partitionNo, from, timestamp)
      if (row === undefined) return null
      const cursor = new BatchCursor(row.baseOffset, row.data)
      while (cursor.next()) {
        if (cursor.offset >= from && cursor.timestamp >= timestamp) return cursor.offset
      }
      from = row.lastOffset + 1
    }
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
