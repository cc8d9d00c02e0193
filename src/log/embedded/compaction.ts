/**
 * Log compaction for `cleanupPolicy: 'compact'` topics, Kafka semantics: at least the latest record per key is
 * kept; an older record is removed once a newer one with the same key has been cleaned past it; a tombstone (null
 * value) is itself removed `tombstoneRetentionMs` after its timestamp, giving consumers time to see the delete.
 *
 * The cleaner walks each partition's dirty section (offsets from `cleaned_to` to the end) in order, keeping the
 * latest offset per key in `compact_keys` and deleting the record a newer one supersedes. Work is O(new records),
 * never a rescan of the whole log, in transactions of BATCH_RECORDS rows with yields between them, so appends are
 * never blocked for long. Crash: `cleaned_to`, the key map and the deletions commit in the same transaction, so
 * the cleaner resumes exactly where it stopped, and the record a key map entry points at is never deleted.
 */
import { BATCH_RECORDS, currentPartition, yieldToEventLoop } from './batch-work.js'
import type { Db } from './schema.js'
import type { TopicRegistry } from './topic-registry.js'

type DirtyRow = [offset: number, key: Buffer | null, isTombstone: number, timestamp: number]

export class Compactor {
  private readonly selectDirty
  private readonly selectKey
  private readonly upsertKey
  private readonly deleteRecord
  private readonly selectExpiredTombstones
  private readonly deleteKey

  constructor(
    private readonly db: Db,
    private readonly registry: TopicRegistry,
    private readonly tombstoneRetentionMs: number,
  ) {
    this.selectDirty = db
      .prepare(
        'SELECT off, key, value IS NULL, timestamp FROM records WHERE topic_id = ? AND part = ? AND off >= ? ' +
          'ORDER BY off LIMIT ?',
      )
      .raw(true)
    this.selectKey = db
      .prepare('SELECT off FROM compact_keys WHERE topic_id = ? AND part = ? AND key = ?')
      .pluck(true)
    this.upsertKey = db.prepare(
      'INSERT INTO compact_keys (topic_id, part, key, off, tombstone_timestamp) VALUES (?, ?, ?, ?, ?) ' +
        'ON CONFLICT (topic_id, part, key) DO UPDATE SET off = excluded.off, ' +
        'tombstone_timestamp = excluded.tombstone_timestamp',
    )
    this.deleteRecord = db
      .prepare('DELETE FROM records WHERE topic_id = ? AND part = ? AND off = ? RETURNING size')
      .pluck(true)
    this.selectExpiredTombstones = db
      .prepare(
        'SELECT key, off FROM compact_keys WHERE topic_id = ? AND part = ? AND tombstone_timestamp IS NOT NULL ' +
          'AND tombstone_timestamp < ? LIMIT ?',
      )
      .raw(true)
    this.deleteKey = db.prepare('DELETE FROM compact_keys WHERE topic_id = ? AND part = ? AND key = ?')
  }

  /** Cleans one partition; returns the number of records removed. */
  async compact(topicName: string, topicId: number, partitionNo: number, now: number, isStopped: () => boolean):
    Promise<number> {
    let deleted = 0
    while (!isStopped()) {
      const found = currentPartition(this.registry, topicName, topicId, partitionNo)
      if (found === undefined || found.topic.info.cleanupPolicy !== 'compact') return deleted
      const state = found.partition
      if (state.cleanedTo >= state.nextOffset) break
      const after = { ...state }
      this.db.transaction(() => {
        const rows = this.selectDirty.all(topicId, partitionNo, state.cleanedTo, BATCH_RECORDS) as DirtyRow[]
        for (const [offset, key, isTombstone, timestamp] of rows) {
          if (key === null) continue
          const previous = this.selectKey.get(topicId, partitionNo, key) as number | undefined
          if (previous !== undefined && previous < offset) {
            const size = this.deleteRecord.get(topicId, partitionNo, previous) as number | undefined
            if (size !== undefined) {
              after.records--
              after.bytes -= size
              deleted++
            }
          }
          this.upsertKey.run(topicId, partitionNo, key, offset, isTombstone ? timestamp : null)
        }
        after.cleanedTo = rows.length > 0 ? rows[rows.length - 1][0] + 1 : state.nextOffset
        this.registry.savePartition(topicId, after)
      })()
      Object.assign(state, after)
      await yieldToEventLoop()
    }
    return deleted + (await this.removeExpiredTombstones(topicName, topicId, partitionNo, now, isStopped))
  }

  private async removeExpiredTombstones(
    topicName: string,
    topicId: number,
    partitionNo: number,
    now: number,
    isStopped: () => boolean,
  ): Promise<number> {
    let deleted = 0
    const cutoff = now - this.tombstoneRetentionMs
    while (!isStopped()) {
      const found = currentPartition(this.registry, topicName, topicId, partitionNo)
      if (found === undefined || found.topic.info.cleanupPolicy !== 'compact') break
      const state = found.partition
      const after = { ...state }
      const count = this.db.transaction(() => {
        const rows = this.selectExpiredTombstones.all(topicId, partitionNo, cutoff, BATCH_RECORDS) as Array<
          [Buffer, number]
        >
        for (const [key, offset] of rows) {
          const size = this.deleteRecord.get(topicId, partitionNo, offset) as number | undefined
          if (size !== undefined) {
            after.records--
            after.bytes -= size
            deleted++
          }
          this.deleteKey.run(topicId, partitionNo, key)
        }
        if (rows.length > 0) this.registry.savePartition(topicId, after)
        return rows.length
      })()
      Object.assign(state, after)
      if (count < BATCH_RECORDS) break
      await yieldToEventLoop()
    }
    return deleted
  }
}
