/**
 * Log compaction for `cleanupPolicy: 'compact'` topics, Kafka semantics: at least the latest record per key is
 * kept; an older record is removed once a newer one with the same key has been cleaned past it; a tombstone (null
 * value) is itself removed `tombstoneRetentionMs` after its timestamp, giving consumers time to see the delete.
 *
 * The cleaner walks each partition's dirty section (offsets from `cleaned_to` to the end) in order, keeping the
 * latest offset per key in `compact_keys` and deleting the record a newer one supersedes (the stored rows that held
 * superseded records are rewritten without them, once per transaction). Work is O(new records), never a rescan of
 * the whole log, in transactions of BATCH_RECORDS records with yields between them, so appends are never
 * blocked for long. Crash: `cleaned_to`, the key map and the deletions commit in the same transaction, so
 * the cleaner resumes exactly where it stopped, and the record a key map entry points at is never deleted.
 */
import { BATCH_RECORDS, currentPartition, yieldToEventLoop } from './batch-work.js'
import type { BatchStore } from './batch-store.js'
import type { Db } from './schema.js'
import type { TopicRegistry } from './topic-registry.js'

interface DirtyRecord {
  offset: number
  key: Buffer | null
  isTombstone: boolean
  timestamp: number
}

export class Compactor {
  private readonly selectKey
  private readonly upsertKey
  private readonly selectExpiredTombstones
  private readonly deleteKey

  constructor(
    private readonly db: Db,
    private readonly registry: TopicRegistry,
    private readonly batches: BatchStore,
    private readonly tombstoneRetentionMs: number,
  ) {
    this.selectKey = db
      .prepare('SELECT off FROM compact_keys WHERE topic_id = ? AND part = ? AND key = ?')
      .pluck(true)
    this.upsertKey = db.prepare(
      'INSERT INTO compact_keys (topic_id, part, key, off, tombstone_timestamp) VALUES (?, ?, ?, ?, ?) ' +
        'ON CONFLICT (topic_id, part, key) DO UPDATE SET off = excluded.off, ' +
        'tombstone_timestamp = excluded.tombstone_timestamp',
    )
    this.selectExpiredTombstones = db
      .prepare(
        'SELECT key, off FROM compact_keys WHERE topic_id = ? AND part = ? AND tombstone_timestamp IS NOT NULL ' +
          'AND tombstone_timestamp < ? ORDER BY off LIMIT ?',
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
        const dirty = this.dirtyRecords(topicId, partitionNo, state.cleanedTo)
        const superseded: number[] = []
        for (const { offset, key, isTombstone, timestamp } of dirty) {
          if (key === null) continue
          const previous = this.selectKey.get(topicId, partitionNo, key) as number | undefined
          if (previous !== undefined && previous < offset) superseded.push(previous)
          this.upsertKey.run(topicId, partitionNo, key, offset, isTombstone ? timestamp : null)
        }
        const removed = this.batches.removeOffsets(topicId, partitionNo, superseded.sort((a, b) => a - b))
        after.records -= removed.records
        after.bytes -= removed.bytes
        deleted += removed.records
        after.cleanedTo = dirty.length > 0 ? dirty[dirty.length - 1].offset + 1 : state.nextOffset
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
        const removed = this.batches.removeOffsets(topicId, partitionNo, rows.map(([, offset]) => offset))
        for (const [key] of rows) this.deleteKey.run(topicId, partitionNo, key)
        after.records -= removed.records
        after.bytes -= removed.bytes
        deleted += removed.records
        if (rows.length > 0) this.registry.savePartition(topicId, after)
        return rows.length
      })()
      Object.assign(state, after)
      if (count < BATCH_RECORDS) break
      await yieldToEventLoop()
    }
    return deleted
  }

  /** Up to BATCH_RECORDS records from `from` on. */
  private dirtyRecords(topicId: number, partitionNo: number, from: number): DirtyRecord[] {
    const dirty: DirtyRecord[] = []
    this.batches.scan(topicId, partitionNo, from, (record) => {
      dirty.push({ offset: record.offset, key: record.key, isTombstone: record.valueLength < 0,
        timestamp: record.timestamp })
      return dirty.length < BATCH_RECORDS
    })
    return dirty
  }
}
