/**
 * The retention pass: for `delete` topics, removes the oldest records of each partition while they are older than
 * `retentionMs` or the partition holds more than `retentionBytes`; for `compact` topics, runs the cleaner; and it
 * collects the records of deleted topics. Runs on a timer and on demand, one pass at a time.
 *
 * Deletion is always a prefix of the partition, so offsets stay contiguous for `delete` topics. Unlike Kafka, which
 * deletes whole head segments, the cut is exact to the record: whole stored rows go, and the row the cut falls in
 * is rewritten without its older records. Backpressure: ROWS_PER_TRANSACTION stored rows (a few thousand records)
 * per transaction with yields between, so appends are never blocked for long. Crash: each batch commits its deletions and the partition counters together; a pass killed
 * midway simply leaves work for the next one.
 */
import { BATCH_RECORDS, currentPartition, yieldToEventLoop } from './batch-work.js'
import type { BatchStore } from './batch-store.js'
import type { Compactor } from './compaction.js'
import type { Reader } from './reader.js'
import type { Db } from './schema.js'
import { BatchCursor } from './stored-batch.js'
import type { TopicRegistry } from './topic-registry.js'

/** Stored rows (of up to 128 KiB) per background transaction. */
const ROWS_PER_TRANSACTION = 32

/**
 * Free pages are reused by later appends; only a large surplus (e.g. after a topic delete) goes back to the OS. In
 * bytes: the page size is 64 KiB for new logs and 4 KiB for older ones.
 */
const MIN_FREE_BYTES_TO_RELEASE = 16 * 1024 * 1024
const FREE_FRACTION_TO_RELEASE = 0.25
const BYTES_PER_VACUUM_STEP = 4 * 1024 * 1024

export class RetentionPass {
  private readonly pruneTimeIndex
  private readonly selectDeletedTopics
  private readonly collectStmts

  constructor(
    private readonly db: Db,
    private readonly registry: TopicRegistry,
    private readonly reader: Reader,
    private readonly compactor: Compactor,
    private readonly batches: BatchStore,
  ) {
    this.pruneTimeIndex = db.prepare(
      'DELETE FROM time_index WHERE topic_id = ? AND part = ? AND base_offset < ' +
        '(SELECT max(base_offset) FROM time_index WHERE topic_id = ? AND part = ? AND base_offset <= ?)',
    )
    this.selectDeletedTopics = db.prepare('SELECT topic_id FROM deleted_topics').pluck(true)
    const primaryKeys: Array<[string, string]> = [
      ['time_index', 'topic_id, part, base_offset'],
      ['compact_keys', 'topic_id, part, key'],
    ]
    this.collectStmts = primaryKeys.map(([table, key]) =>
      db.prepare(
        `DELETE FROM ${table} WHERE (${key}) IN ` +
          `(SELECT ${key} FROM ${table} WHERE topic_id = ? LIMIT ${BATCH_RECORDS})`,
      ),
    )
  }

  /** Runs one pass; returns the number of records removed. */
  async run(now: number, isStopped: () => boolean): Promise<number> {
    let deleted = 0
    for (const topic of this.registry.list()) {
      const { id, info } = topic
      for (let p = 0; p < info.partitions && !isStopped(); p++) {
        if (info.cleanupPolicy === 'compact') {
          deleted += await this.compactor.compact(info.name, id, p, now, isStopped)
          continue
        }
        if (info.retentionMs >= 0) {
          const target = this.reader.offsetForTimestampById(id, p, now - info.retentionMs)
          deleted += await this.deletePrefix(info.name, id, p, target ?? Number.MAX_SAFE_INTEGER, isStopped)
        }
        deleted += await this.enforceBytes(info.name, id, p, isStopped)
      }
    }
    deleted += await this.collectDeletedTopics(isStopped)
    // After the deletions above have committed: a file goes only once no committed row points at it.
    this.batches.removeUnreferencedSegments()
    await this.releaseFreePages(isStopped)
    return deleted
  }

  /** Deletes every record below `target`, ROWS_PER_TRANSACTION stored rows at a time. */
  private async deletePrefix(name: string, topicId: number, p: number, target: number, isStopped: () => boolean):
    Promise<number> {
    let deleted = 0
    while (!isStopped()) {
      const found = currentPartition(this.registry, name, topicId, p)
      if (found === undefined || found.partition.records === 0) break
      const state = found.partition
      const end = Math.min(target, state.nextOffset)
      const after = { ...state }
      const { records, reached } = this.db.transaction(() => {
        const removed = this.batches.removeBefore(topicId, p, end, ROWS_PER_TRANSACTION)
        if (removed.records === 0) return removed
        after.records -= removed.records
        after.bytes -= removed.bytes
        this.pruneTimeIndex.run(topicId, p, topicId, p, removed.reached)
        this.registry.savePartition(topicId, after)
        return removed
      })()
      Object.assign(state, after)
      deleted += records
      if (records === 0 || reached >= end) break
      await yieldToEventLoop()
    }
    return deleted
  }

  /** Deletes the oldest records while the partition holds more than its retentionBytes. */
  private async enforceBytes(name: string, topicId: number, p: number, isStopped: () => boolean): Promise<number> {
    let deleted = 0
    while (!isStopped()) {
      const found = currentPartition(this.registry, name, topicId, p)
      if (found === undefined) break
      const limit = found.topic.info.retentionBytes
      const excess = found.partition.bytes - limit
      if (limit < 0 || excess <= 0) break
      const end = this.cutFreeing(topicId, p, excess)
      if (end === undefined) break
      const removed = await this.deletePrefix(name, topicId, p, end, isStopped)
      deleted += removed
      if (removed === 0) break
    }
    return deleted
  }

  /**
   * The offset to delete below so that at least `excess` bytes go, looking at most ROWS_PER_TRANSACTION rows ahead
   * (the caller repeats while there is excess); undefined when the partition is empty.
   */
  private cutFreeing(topicId: number, p: number, excess: number): number | undefined {
    const rows = this.batches.oldest(topicId, p, ROWS_PER_TRANSACTION)
    if (rows.length === 0) return undefined
    let freed = 0
    for (const row of rows) {
      if (freed + row.bytes < excess) {
        freed += row.bytes
        continue
      }
      const { data, payload } = this.batches.data(row)
      const cursor = new BatchCursor(row.baseOffset, data, payload)
      while (cursor.next()) {
        freed += cursor.size
        if (freed >= excess) return cursor.offset + 1
      }
    }
    return rows[rows.length - 1].lastOffset + 1
  }

  private async collectDeletedTopics(isStopped: () => boolean): Promise<number> {
    let deleted = 0
    for (const topicId of this.selectDeletedTopics.all() as number[]) {
      while (!isStopped()) {
        const [stored, rest] = this.db.transaction(() => [
          this.batches.removeTopicRows(topicId, ROWS_PER_TRANSACTION),
          this.collectStmts.reduce((sum, s) => sum + s.run(topicId).changes, 0),
        ] as const)()
        deleted += stored.records
        if (stored.rows + rest === 0) {
          this.db.prepare('DELETE FROM deleted_topics WHERE topic_id = ?').run(topicId)
          break
        }
        await yieldToEventLoop()
      }
    }
    return deleted
  }

  private async releaseFreePages(isStopped: () => boolean): Promise<void> {
    const pageSize = this.db.pragma('page_size', { simple: true }) as number
    while (!isStopped()) {
      const free = this.db.pragma('freelist_count', { simple: true }) as number
      const total = this.db.pragma('page_count', { simple: true }) as number
      if (free * pageSize < MIN_FREE_BYTES_TO_RELEASE || free < total * FREE_FRACTION_TO_RELEASE) return
      this.db.pragma(`incremental_vacuum(${Math.ceil(BYTES_PER_VACUUM_STEP / pageSize)})`)
      await yieldToEventLoop()
    }
  }
}
