/**
 * The topic log: durable, append-only topics split into partitions, read by offset.
 *
 * This is the one seam between connectors and storage (DESIGN.md `log/`). The embedded implementation lives in
 * `log/embedded/`; a Kafka implementation can be added beside it without touching connectors.
 *
 * Contract every implementation keeps:
 * - `append` resolves only when every record in the call is durable (survives `kill -9` of the process), and a call
 *   is atomic: after a crash either all of its records are there or none are.
 * - Offsets within a partition start at 0 and increase by one per record, with no gaps at append time (retention
 *   and compaction may later remove records, so readers must accept gaps).
 * - A record's partition is the one given, else `hash(key) % partitions` when the key is non-null, else 0, where
 *   `hash` is Kafka's default partitioner (`toPositive(murmur2(key))`, see `partitioner.ts`), so keys land where a
 *   Kafka producer would put them.
 * - `read` from below `earliest` starts at the earliest stored record; from `latest` or beyond it returns [].
 * - `cleanupPolicy: 'compact'` topics keep at least the latest record per key (a null value is a tombstone) and are
 *   not trimmed by `retentionMs` / `retentionBytes` (Kafka's `compact`, not `compact,delete`); they reject records
 *   with a null key, as Kafka does.
 * - Caller mistakes throw the errors in `log-errors.ts` (not found, exists, invalid request), never a bare Error.
 */
import type { PackedRecords, RecordBatch } from './record-batch.js'

export type CleanupPolicy = 'delete' | 'compact'

export interface TopicConfig {
  partitions: number
  cleanupPolicy: CleanupPolicy
  /** -1 keeps records forever. */
  retentionMs: number
  /** Per partition, as Kafka counts it; -1 is unlimited. */
  retentionBytes: number
  maxMessageBytes: number
}

export interface TopicInfo extends TopicConfig {
  name: string
  createdAt: number
}

export type Headers = Record<string, string>

/**
 * Bytes around a value that many records share, such as a change event's envelope around its row. A record with a
 * frame stores `value` only; the log keeps the frame once per stored batch and reads return the whole value,
 * `prefix + value + suffix`. Records share a frame by sharing the object.
 */
export interface ValueFrame {
  prefix: Uint8Array
  suffix: Uint8Array
}

export interface AppendRecord {
  topic: string
  key: Buffer | null
  /** With `frame`, what goes between its prefix and suffix. */
  value: Buffer | null
  /** The value's frame; the record's size (maxMessageBytes, retention) counts it. Needs a non-null value. */
  frame?: ValueFrame
  headers?: Headers
  /** Epoch milliseconds; defaults to the append time. */
  timestamp?: number
  partition?: number
}

export interface AppendResult {
  topic: string
  partition: number
  offset: number
}

export interface LogRecord {
  topic: string
  partition: number
  offset: number
  timestamp: number
  key: Buffer | null
  value: Buffer | null
  headers: Headers
}

export interface ReadOptions {
  maxRecords?: number
  /** Soft limit: at least one record is returned when one exists. */
  maxBytes?: number
}

export interface PartitionOffsets {
  /** Offset of the first record still stored (equals `latest` when the partition is empty). */
  earliest: number
  /** The offset the next appended record will get (Kafka's "log end offset"). */
  latest: number
}

export interface RetentionResult {
  deletedRecords: number
}

export interface TopicLog {
  /** Creates a topic; creating one that exists with the same partition count is a no-op. */
  createTopic(name: string, config?: Partial<TopicConfig>): Promise<TopicInfo>
  updateTopic(name: string, config: Partial<TopicConfig>): Promise<TopicInfo>
  deleteTopic(name: string): Promise<void>
  getTopic(name: string): Promise<TopicInfo | undefined>
  listTopics(): Promise<TopicInfo[]>

  /**
   * Appends the records (to any number of topics, which must exist); resolves when they are durable. A RecordBatch
   * (record-batch.ts) is the cheaper form for large appends; it is spent by the call.
   */
  append(records: AppendRecord[] | RecordBatch): Promise<AppendResult[]>
  read(topic: string, partition: number, fromOffset: number, options?: ReadOptions): Promise<LogRecord[]>
  /**
   * `read`, packed (record-batch.ts; PackedView reads it): keys and values in one buffer rather than an object and
   * two Buffer views per record. For consumers that go through many records once (pipelines): a delivered batch of
   * records otherwise stayed alive long enough to cost the garbage collector more than reading them.
   */
  readPacked(topic: string, partition: number, fromOffset: number, options?: ReadOptions): Promise<PackedRecords>
  offsets(topic: string, partition: number): Promise<PartitionOffsets>
  /** The earliest offset whose timestamp is >= `timestamp`, or null when there is none. */
  offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number | null>
  /** Record count and stored bytes of one partition. */
  stats(topic: string, partition: number): Promise<{ records: number; bytes: number }>

  /** Consumer-group offsets: the next offset the group will read, per topic-partition. */
  commitOffsets(group: string, offsets: Array<{ topic: string; partition: number; offset: number }>): Promise<void>
  committedOffsets(group: string): Promise<Array<{ topic: string; partition: number; offset: number }>>
  listGroups(): Promise<string[]>
  deleteGroup(group: string): Promise<void>

  /** Applies retention (time and bytes) and compaction now; the embedded log also runs it on a timer. */
  enforceRetention(now?: number): Promise<RetentionResult>

  /** Resolves on the next append to `topic` (any partition), or when `signal` aborts. For long polling. */
  waitForAppend(topic: string, signal: AbortSignal): Promise<void>
  /**
   * Resolves on the next topic creation or deletion, or when `signal` aborts: a consumer of topics matched by name
   * (a pipeline of a source's topics) learns at once of a table's first topic.
   */
  waitForTopicChange(signal: AbortSignal): Promise<void>

  close(): Promise<void>
}
