/**
 * The retention pass: for `delete` topics, removes the oldest records of each partition while they are older than
 * `retentionMs` or the partition holds more than `retentionBytes`; for `compact` topics, runs the cleaner; and it
 * collects the records of deleted topics. Runs on a timer and on demand, one pass at a time.
 *
 * Deletion is always a prefix of the partition (Kafka deletes whole head segments), so offsets stay contiguous
 * for `delete` topics. Backpressure: BATCH_RECORDS rows per transaction with yields between, so appends are never
 * blocked for long. Crash: each batch commits its deletions and the partition counters together; a pass killed
 * midway simply leaves work for the next one.
 */
import { BATCH_RECORDS, currentPartition, yieldToEventLoop } from './batch-work.js'
import type { Compactor } from './compaction.js'
import type { Reader } from './reader.js'
import type { Db } from './schema.js'
import type { TopicRegistry } from './topic-registry.js'

/**
 * Free pages are reused by later appends; only a large surplus (e.g. after a topic delete) goes back to the OS. In
 * bytes: the page size is 64 KiB for new logs and 4 KiB for older ones.
 */
const MIN_FREE_BYTES_TO_RELEASE = 16 * 1024 * 1024
const FREE_FRACTION_TO_RELEASE = 0.25
const BYTES_PER_VACUUM_STEP = 4 * 1024 * 1024

export class RetentionPass {
  private readonly selectNthOffset
  private readonly deletePrefixStmt
  private readonly pruneTimeIndex
  private readonly selectSizes
  private readonly selectDeletedTopics
  private readonly collectStmts

  constructor(
    private readonly db: Db,
    private readonly registry: TopicRegistry,
    private readonly reader: Reader,
    private readonly compactor: Compactor,
  ) {
    this.selectNthOffset = db
      .prepare('SELECT off FROM records WHERE topic_id = ? AND part = ? ORDER BY off LIMIT 1 OFFSET ?')
      .pluck(true)
    this.deletePrefixStmt = db
      .prepare('DELETE FROM records WHERE topic_id = ? AND part = ? AND off < ? RETURNING size')
      .pluck(true)
    this.pruneTimeIndex = db.prepare(
      'DELETE FROM time_index WHERE topic_id = ? AND part = ? AND base_offset < ' +
        '(SELECT max(base_offset) FROM time_index WHERE topic_id = ? AND part = ? AND base_offset <= ?)',
    )
    this.selectSizes = db
      .prepare('SELECT off, size FROM records WHERE topic_id = ? AND part = ? ORDER BY off LIMIT ?')
      .raw(true)
    this.selectDeletedTopics = db.prepare('SELECT topic_id FROM deleted_topics').pluck(true)
    const primaryKeys: Array<[string, string]> = [
      ['records', 'topic_id, part, off'],
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
    await this.releaseFreePages(isStopped)
    return deleted
  }

  /** Deletes every record below `target`, BATCH_RECORDS at a time. */
  private async deletePrefix(name: string, topicId: number, p: number, target: number, isStopped: () => boolean):
    Promise<number> {
    let deleted = 0
    while (!isStopped()) {
      const found = currentPartition(this.registry, name, topicId, p)
      if (found === undefined || found.partition.records === 0) break
      const state = found.partition
      const nth = this.selectNthOffset.get(topicId, p, BATCH_RECORDS) as number | undefined
      const end = Math.min(target, nth ?? state.nextOffset)
      const after = { ...state }
      const removed = this.db.transaction(() => {
        const sizes = this.deletePrefixStmt.all(topicId, p, end) as number[]
        if (sizes.length === 0) return 0
        after.records -= sizes.length
        for (const size of sizes) after.bytes -= size
        this.pruneTimeIndex.run(topicId, p, topicId, p, end)
        this.registry.savePartition(topicId, after)
        return sizes.length
      })()
      Object.assign(state, after)
      deleted += removed
      if (removed === 0 || end >= target) break
      await yieldToEventLoop()
    }
    return deleted
  }

  private async enforceBytes(name: string, topicId: number, p: number, isStopped: () => boolean): Promise<number> {
    let deleted = 0
    while (!isStopped()) {
      const found = currentPartition(this.registry, name, topicId, p)
      if (found === undefined) break
      const limit = found.topic.info.retentionBytes
      const excess = found.partition.bytes - limit
      if (limit < 0 || excess <= 0) break
      const rows = this.selectSizes.all(topicId, p, BATCH_RECORDS) as Array<[number, number]>
      if (rows.length === 0) break
      let freed = 0
      let end = rows[rows.length - 1][0] + 1
      for (const [offset, size] of rows) {
        freed += size
        if (freed >= excess) {
          end = offset + 1
          break
        }
      }
      // deletePrefix removes at most one batch here, since `end` is within the rows just read.
      const removed = await this.deletePrefix(name, topicId, p, end, isStopped)
      deleted += removed
      if (removed === 0) break
    }
    return deleted
  }

  private async collectDeletedTopics(isStopped: () => boolean): Promise<number> {
    let deleted = 0
    for (const topicId of this.selectDeletedTopics.all() as number[]) {
      while (!isStopped()) {
        const [records, ...rest] = this.db.transaction(() => this.collectStmts.map((s) => s.run(topicId).changes))()
        deleted += records
        if (records + rest.reduce((a, b) => a + b, 0) === 0) {
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
