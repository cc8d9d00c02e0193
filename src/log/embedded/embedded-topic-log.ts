/**
 * The embedded topic log: a TopicLog over one SQLite database in `dir` and segment files in `dir/segments` (see
 * schema.ts for the on-disk format and how a torn tail after a crash is discarded). Wires the parts: TopicRegistry
 * (topics, partitions, in-memory offsets), BatchStore (stored rows, with SegmentFiles), Appender, Reader,
 * ConsumerGroups, RetentionPass (with the Compactor) and AppendWaiters.
 *
 * Backpressure: better-sqlite3 is synchronous, so each call runs to completion before the next; `append` is one
 * short transaction and background work runs in small batches (batch-work.ts). Crash: a resolved `append` is on
 * disk (fsync 'always' → power-loss safe; 'never' → `kill -9` safe), and reopening the directory resumes every
 * partition at the offset after its last acknowledged record.
 */
import { join } from 'node:path'
import { LogClosedError } from '../log-errors.js'
import { type PackedAppendResults, type PackedRecords, RecordBatch, unpackAppendResults } from '../record-batch.js'
import type {
  AppendRecord,
  AppendResult,
  LogRecord,
  PartitionOffsets,
  ReadOptions,
  RetentionResult,
  TopicConfig,
  TopicInfo,
  TopicLog,
} from '../topic-log.js'
import { Appender } from './appender.js'
import { BatchStore } from './batch-store.js'
import { AppendWaiters, TOPIC_CHANGES } from './append-waiters.js'
import { Compactor } from './compaction.js'
import { ConsumerGroups } from './consumer-groups.js'
import { Reader } from './reader.js'
import { RetentionPass } from './retention.js'
import { type Db, type FsyncMode, openLogDatabase } from './schema.js'
import { SegmentFiles } from './segment-files.js'
import { TopicRegistry } from './topic-registry.js'

/** The narrow slice of a pino logger the log uses. */
export interface TopicLogLogger {
  info(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export interface EmbeddedTopicLogOptions {
  dir: string
  /** 'always' (default): `append` resolves after an fsync. 'never': survives a process crash, not power loss. */
  fsync?: FsyncMode
  /** Kafka's log.retention.check.interval.ms; 0 disables the timer (retention then runs only on demand). */
  retentionCheckIntervalMs?: number
  /** Kafka's delete.retention.ms: how long a tombstone outlives its timestamp in a compacted topic. */
  tombstoneRetentionMs?: number
  logger?: TopicLogLogger
  /** The smallest payload of a stored row that goes to a segment file (batch-store.ts); tests lower it. */
  segmentMinBytes?: number
}

export const DEFAULT_RETENTION_CHECK_INTERVAL_MS = 5 * 60 * 1000
export const DEFAULT_TOMBSTONE_RETENTION_MS = 24 * 60 * 60 * 1000

/**
 * The embedded log also appends and reads records packed (record-batch.ts), as the threaded log's worker receives and
 * posts them.
 */
export interface EmbeddedTopicLog extends TopicLog {
  appendPacked(packed: PackedRecords): Promise<PackedAppendResults>
  /** Several `appendPacked` calls with one commit: each outcome is its call's results or its own error. */
  appendPackedGroup(calls: PackedRecords[]): Promise<Array<PackedAppendResults | Error>>
  readPacked(topic: string, partition: number, fromOffset: number, options?: ReadOptions): Promise<PackedRecords>
}

export async function createEmbeddedTopicLog(options: EmbeddedTopicLogOptions): Promise<EmbeddedTopicLog> {
  return new EmbeddedLog(options)
}

class EmbeddedLog implements EmbeddedTopicLog {
  private readonly db: Db
  private readonly registry: TopicRegistry
  private readonly appender: Appender
  private readonly reader: Reader
  private readonly groups: ConsumerGroups
  private readonly retention: RetentionPass
  private readonly segments: SegmentFiles
  private readonly waiters = new AppendWaiters()
  private readonly timer: NodeJS.Timeout | undefined
  private readonly logger: TopicLogLogger | undefined
  /** The pass in progress (or the last one); passes are chained so only one runs at a time. */
  private retentionRun: Promise<unknown> = Promise.resolve()
  private closed = false

  constructor(options: EmbeddedTopicLogOptions) {
    this.logger = options.logger
    this.db = openLogDatabase(options.dir, options.fsync ?? 'always', (migration) =>
      this.logger?.info({ ...migration, toVersion: 2 }, 'topic log converted to records stored many to a row'))
    this.registry = new TopicRegistry(this.db)
    this.segments = new SegmentFiles(join(options.dir, 'segments'), (options.fsync ?? 'always') === 'always')
    const batches = new BatchStore(this.db, this.segments, options.segmentMinBytes)
    this.appender = new Appender(this.db, this.registry, batches)
    this.reader = new Reader(this.db, this.registry, batches)
    this.groups = new ConsumerGroups(this.db, this.registry)
    const compactor = new Compactor(this.db, this.registry, batches,
      options.tombstoneRetentionMs ?? DEFAULT_TOMBSTONE_RETENTION_MS)
    this.retention = new RetentionPass(this.db, this.registry, this.reader, compactor, batches)
    const intervalMs = options.retentionCheckIntervalMs ?? DEFAULT_RETENTION_CHECK_INTERVAL_MS
    if (intervalMs > 0) {
      this.timer = setInterval(() => {
        this.enforceRetention().catch((err: unknown) => this.logger?.error({ err }, 'topic log retention failed'))
      }, intervalMs)
      this.timer.unref()
    }
  }

  async createTopic(name: string, config?: Partial<TopicConfig>): Promise<TopicInfo> {
    this.assertOpen()
    const info = this.registry.create(name, config)
    this.waiters.notify([TOPIC_CHANGES])
    return info
  }

  async updateTopic(name: string, config: Partial<TopicConfig>): Promise<TopicInfo> {
    this.assertOpen()
    return this.registry.update(name, config)
  }

  async deleteTopic(name: string): Promise<void> {
    this.assertOpen()
    this.registry.delete(name)
    this.waiters.notify([name, TOPIC_CHANGES])
    // Collect the records in the background, in small batches, rather than in this call.
    this.enforceRetention().catch((err: unknown) => this.logger?.error({ err }, 'topic log cleanup failed'))
  }

  async getTopic(name: string): Promise<TopicInfo | undefined> {
    this.assertOpen()
    const state = this.registry.get(name)
    return state === undefined ? undefined : { ...state.info }
  }

  async listTopics(): Promise<TopicInfo[]> {
    this.assertOpen()
    return this.registry
      .list()
      .map((s) => ({ ...s.info }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  async append(batch: AppendRecord[] | RecordBatch): Promise<AppendResult[]> {
    this.assertOpen()
    if (batch instanceof RecordBatch) return unpackAppendResults(await this.appendPacked(batch.pack()))
    if (batch.length === 0) return []
    const { results, topics } = this.appender.append(batch)
    this.waiters.notify(topics)
    return results
  }

  /** `append` of records in their packed form (a RecordBatch's, or as they crossed from another thread). */
  async appendPacked(packed: PackedRecords): Promise<PackedAppendResults> {
    const [outcome] = await this.appendPackedGroup([packed])
    if (outcome instanceof Error) throw outcome
    return outcome
  }

  /**
   * `appendPacked` of several calls with one commit (group commit; see Appender.group): each outcome is its call's
   * results, or the error it failed with alone. Rejects, with nothing appended, if the commit fails.
   */
  async appendPackedGroup(calls: PackedRecords[]): Promise<Array<PackedAppendResults | Error>> {
    this.assertOpen()
    const topics = new Set<string>()
    const appendOne = (packed: PackedRecords): PackedAppendResults | Error => {
      try {
        if (packed.count === 0) return { topics: [], meta: new Float64Array(0) }
        const appended = this.appender.appendPacked(packed)
        for (const topic of appended.topics) topics.add(topic)
        return appended.results
      } catch (error) {
        return error instanceof Error ? error : new Error(String(error))
      }
    }
    // A call alone is a transaction of its own; several share the group's, a savepoint each.
    const outcomes = calls.length === 1 ? [appendOne(calls[0])] : this.appender.group(() => calls.map(appendOne))
    this.waiters.notify(topics)
    return outcomes
  }

  async read(topic: string, partition: number, fromOffset: number, options?: ReadOptions): Promise<LogRecord[]> {
    this.assertOpen()
    return this.reader.read(topic, partition, fromOffset, options)
  }

  async readPacked(topic: string, partition: number, fromOffset: number, options?: ReadOptions): Promise<PackedRecords> {
    this.assertOpen()
    return this.reader.readPacked(topic, partition, fromOffset, options)
  }

  async offsets(topic: string, partition: number): Promise<PartitionOffsets> {
    this.assertOpen()
    return this.reader.offsets(topic, partition)
  }

  async offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number | null> {
    this.assertOpen()
    return this.reader.offsetForTimestamp(topic, partition, timestamp)
  }

  async stats(topic: string, partition: number): Promise<{ records: number; bytes: number }> {
    this.assertOpen()
    return this.reader.stats(topic, partition)
  }

  async commitOffsets(group: string, offsets: Array<{ topic: string; partition: number; offset: number }>):
    Promise<void> {
    this.assertOpen()
    this.groups.commit(group, offsets)
  }

  async committedOffsets(group: string): Promise<Array<{ topic: string; partition: number; offset: number }>> {
    this.assertOpen()
    return this.groups.committed(group)
  }

  async listGroups(): Promise<string[]> {
    this.assertOpen()
    return this.groups.list()
  }

  async deleteGroup(group: string): Promise<void> {
    this.assertOpen()
    this.groups.delete(group)
  }

  enforceRetention(now?: number): Promise<RetentionResult> {
    if (this.closed) return Promise.reject(new LogClosedError())
    const run = this.retentionRun.then(async () => {
      const started = Date.now()
      const deletedRecords = await this.retention.run(now ?? started, () => this.closed)
      if (deletedRecords > 0) {
        this.logger?.info({ deletedRecords, durationMs: Date.now() - started }, 'topic log retention pass')
      }
      return { deletedRecords }
    })
    this.retentionRun = run.catch(() => undefined)
    return run
  }

  waitForAppend(topic: string, signal: AbortSignal): Promise<void> {
    if (this.closed) return Promise.resolve()
    return this.waiters.wait(topic, signal)
  }

  waitForTopicChange(signal: AbortSignal): Promise<void> {
    if (this.closed) return Promise.resolve()
    return this.waiters.wait(TOPIC_CHANGES, signal)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.timer !== undefined) clearInterval(this.timer)
    this.waiters.notifyAll()
    // A running pass stops at its next batch boundary (it checks `closed`).
    await this.retentionRun
    this.db.close()
    this.segments.close()
  }

  private assertOpen(): void {
    if (this.closed) throw new LogClosedError()
  }
}
