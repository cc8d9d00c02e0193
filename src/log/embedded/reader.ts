/**
 * Reads by offset and by timestamp. Every query walks the clustered (topic, partition, offset) primary key, so a
 * read costs a seek plus a sequential scan of the rows it returns.
 *
 * Backpressure: a read returns at most `maxRecords` rows and stops once `maxBytes` is passed (always at least one
 * record), and the rows fetched from SQLite are bounded from the partition's average record size, so a small
 * `maxBytes` never loads `maxRecords` large values. Reads never see a partial append: each append is one
 * transaction.
 */
import { InvalidLogRequestError } from '../log-errors.js'
import type { Headers, LogRecord, PartitionOffsets, ReadOptions } from '../topic-log.js'
import type { Db } from './schema.js'
import type { TopicRegistry } from './topic-registry.js'

/** Kafka's max.poll.records. */
export const DEFAULT_MAX_RECORDS = 500
/** Kafka's max.partition.fetch.bytes. */
export const DEFAULT_MAX_BYTES = 1024 * 1024


type RecordRow = [offset: number, timestamp: number, size: number, key: Buffer | null, value: Buffer | null,
  headers: string | null]

export class Reader {
  private readonly selectRecords
  private readonly selectFirstOffset
  private readonly selectTimeIndex
  private readonly selectOffsetAtTime

  constructor(db: Db, private readonly registry: TopicRegistry) {
    this.selectRecords = db
      .prepare(
        'SELECT off, timestamp, size, key, value, headers FROM records ' +
          'WHERE topic_id = ? AND part = ? AND off >= ? ORDER BY off LIMIT ?',
      )
      .raw(true)
    this.selectFirstOffset = db
      .prepare('SELECT off FROM records WHERE topic_id = ? AND part = ? ORDER BY off LIMIT 1')
      .pluck(true)
    this.selectTimeIndex = db
      .prepare(
        'SELECT base_offset FROM time_index WHERE topic_id = ? AND part = ? AND max_timestamp >= ? ' +
          'ORDER BY max_timestamp, base_offset LIMIT 1',
      )
      .pluck(true)
    this.selectOffsetAtTime = db
      .prepare(
        'SELECT off FROM records WHERE topic_id = ? AND part = ? AND off >= ? AND timestamp >= ? ' +
          'ORDER BY off LIMIT 1',
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

    // Over-fetch by half against the average record size; a batch of unusually small records just comes back
    // a little short of maxBytes, which the soft limit allows.
    const averageSize = Math.max(1, partition.bytes / partition.records)
    const limit = Math.min(maxRecords, Math.ceil((maxBytes * 1.5) / averageSize) + 1)
    const rows = this.selectRecords.all(topic.id, partitionNo, fromOffset, limit) as RecordRow[]
    const records: LogRecord[] = []
    let bytes = 0
    const decodeHeaders = createHeadersDecoder()
    for (const row of rows) {
      bytes += row[2]
      if (bytes > maxBytes && records.length > 0) break
      records.push({
        topic: topicName,
        partition: partitionNo,
        offset: row[0],
        timestamp: row[1],
        key: row[3],
        value: row[4],
        headers: decodeHeaders(row[5]),
      })
    }
    return records
  }

  offsets(topicName: string, partitionNo: number): PartitionOffsets {
    const { topic, partition } = this.registry.requirePartition(topicName, partitionNo)
    const first = this.selectFirstOffset.get(topic.id, partitionNo) as number | undefined
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
    const offset = this.selectOffsetAtTime.get(topicId, partitionNo, base, timestamp) as number | undefined
    return offset ?? null
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
function createHeadersDecoder(): (text: string | null) => Headers {
  let lastText: string | null = null
  let last: Headers = {}
  return (text) => {
    if (text === null) return {}
    if (text !== lastText) {
      last = JSON.parse(text) as Headers
      lastText = text
    }
    return { ...last }
  }
}
