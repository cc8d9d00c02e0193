/**
 * The `batches` table (stored-batch.ts has the blob format): every statement that touches stored records. Rows of a
 * partition never overlap and are found by their last offset, so "the row holding offset o, or the first after it"
 * is one index seek: the first row with last_offset >= o.
 *
 * Removing records from the middle of a partition (compaction) rewrites the rows that held them; removing a prefix
 * (retention) deletes whole rows and rewrites at most the one it cuts. Callers run these inside their transactions.
 */
import { BatchCursor, type BatchRow, type EncodedBatch, rewriteBatch } from './stored-batch.js'
import type { Db } from './schema.js'
import type { SegmentFiles } from './segment-files.js'

type Row = [id: number, base: number, last: number, records: number, bytes: number, maxTimestamp: number, data: Buffer,
  payload: Buffer | null, segment: number | null, segmentAt: number | null, segmentBytes: number | null]

const COLUMNS = 'id, base_offset, last_offset, records, bytes, max_timestamp, data, payload, segment, segment_at, segment_bytes'

/** Records and bytes a change removed. */
export interface Removed {
  records: number
  bytes: number
}

/**
 * A format 3 row's payload of at least SEGMENT_MIN_BYTES goes to a segment file, a smaller one into the row. Why: the
 * segment costs an fsync of its own per append, which a big append (a snapshot's, 2,000 rows) spreads over
 * megabytes and saves the double write of SQLite's WAL and checkpoint, but which a streaming append of a record or
 * two would pay in full (measured: a test's streaming workload could no longer keep up). About half a stored row
 * (stored-batch.ts TARGET_BATCH_BYTES), so a big append's rows go to segments, all but maybe its last.
 */
export const SEGMENT_MIN_BYTES = 64 * 1024

/**
 * `segments`: where big format 3 payloads go (segment-files.ts); a store without them (the version 1 migration)
 * writes format 2 rows only.
 */
export class BatchStore {
  private readonly insertStmt
  private readonly updateStmt
  private readonly deleteStmt
  private readonly selectFrom
  private readonly selectFromAtTime
  private readonly selectFirst
  private readonly selectOldest
  private readonly selectData
  private readonly deleteTopicStmt
  private readonly selectSegmentRow

  constructor(db: Db, private readonly segments: SegmentFiles | null = null,
    private readonly segmentMinBytes = SEGMENT_MIN_BYTES) {
    this.insertStmt = db.prepare(
      'INSERT INTO batches (topic_id, part, base_offset, last_offset, records, bytes, max_timestamp, data, payload, ' +
        'segment, segment_at, segment_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    )
    this.updateStmt = db.prepare(
      'UPDATE batches SET base_offset = ?, last_offset = ?, records = ?, bytes = ?, max_timestamp = ?, data = ?, ' +
        'payload = NULL, segment = NULL, segment_at = NULL, segment_bytes = NULL WHERE id = ?',
    )
    this.deleteStmt = db.prepare('DELETE FROM batches WHERE id = ?')
    this.selectFrom = db
      .prepare(`SELECT ${COLUMNS} FROM batches WHERE topic_id = ? AND part = ? AND last_offset >= ? ` +
        'ORDER BY last_offset LIMIT 1')
      .raw(true)
    this.selectFromAtTime = db
      .prepare(`SELECT ${COLUMNS} FROM batches WHERE topic_id = ? AND part = ? AND last_offset >= ? ` +
        'AND max_timestamp >= ? ORDER BY last_offset LIMIT 1')
      .raw(true)
    this.selectFirst = db
      .prepare('SELECT base_offset FROM batches WHERE topic_id = ? AND part = ? ORDER BY last_offset LIMIT 1')
      .pluck(true)
    this.selectOldest = db
      .prepare('SELECT id, base_offset, last_offset, records, bytes, max_timestamp FROM batches ' +
        'WHERE topic_id = ? AND part = ? ORDER BY last_offset LIMIT ?')
      .raw(true)
    this.selectData = db.prepare('SELECT data, payload, segment, segment_at, segment_bytes FROM batches WHERE id = ?').raw(true)
    this.selectSegmentRow = db.prepare('SELECT 1 FROM batches WHERE segment = ? LIMIT 1').pluck(true)
    this.deleteTopicStmt = db
      .prepare('DELETE FROM batches WHERE id IN (SELECT id FROM batches WHERE topic_id = ? LIMIT ?) RETURNING records')
      .pluck(true)
  }

  /** Inserts a row; a big format 3 payload goes to the segment files, durable once they are synced. */
  insert(topicId: number, partition: number, batch: EncodedBatch): void {
    const { payload } = batch
    const toSegment = payload !== null && payload.length >= this.segmentMinBytes
    const at = toSegment ? this.requireSegments().write(payload) : null
    this.insertStmt.run(topicId, partition, batch.baseOffset, batch.lastOffset, batch.records, batch.bytes,
      batch.maxTimestamp, batch.data, toSegment ? null : payload, at?.segment ?? null, at?.position ?? null,
      at === null ? null : (payload as Buffer).length)
  }

  /** Makes the payloads inserted so far durable: before the transaction that inserted their rows commits. */
  syncPayloads(): void {
    this.segments?.sync()
  }

  /**
   * Deletes the segment files no row points into (an index seek each: batches_by_segment); only after the
   * transactions that removed their rows have committed.
   */
  removeUnreferencedSegments(): void {
    this.segments?.removeUnreferenced((segment) => this.selectSegmentRow.get(segment) !== undefined)
  }

  /** The row holding `offset`, or the first one after it. */
  rowFrom(topicId: number, partition: number, offset: number): BatchRow | undefined {
    return this.toBatchRow(this.selectFrom.get(topicId, partition, offset) as Row | undefined)
  }

  /**
   * Walks the partition's records from offset `from` on, in order, a stored row at a time, until `visit` returns
   * false or the records end. With `minTimestamp`, rows holding no record at or after it are skipped unread.
   */
  scan(topicId: number, partition: number, from: number, visit: (record: BatchCursor) => boolean,
    minTimestamp?: number): void {
    for (;;) {
      const row = this.toBatchRow((minTimestamp === undefined
        ? this.selectFrom.get(topicId, partition, from)
        : this.selectFromAtTime.get(topicId, partition, from, minTimestamp)) as Row | undefined)
      if (row === undefined) return
      const cursor = new BatchCursor(row.baseOffset, row.data, row.payload)
      while (cursor.next()) {
        if (cursor.offset >= from && !visit(cursor)) return
      }
      from = row.lastOffset + 1
    }
  }

  /** The offset of the partition's first stored record. */
  firstOffset(topicId: number, partition: number): number | undefined {
    return this.selectFirst.get(topicId, partition) as number | undefined
  }

  /** The partition's first `count` rows, without their blobs (retention mostly deletes rows whole). */
  oldest(topicId: number, partition: number, count: number): Array<Omit<BatchRow, 'data' | 'payload'>> {
    return (this.selectOldest.all(topicId, partition, count) as Row[]).map(([id, baseOffset, lastOffset, records,
      bytes, maxTimestamp]) => ({ id, baseOffset, lastOffset, records, bytes, maxTimestamp }))
  }

  /** A row's blobs. */
  data(row: Omit<BatchRow, 'data' | 'payload'>): BatchRow {
    const [data, payload, segment, segmentAt, segmentBytes] = this.selectData.get(row.id) as
      [Buffer, Buffer | null, number | null, number | null, number | null]
    return { ...row, data, payload: this.payloadOf(payload, segment, segmentAt, segmentBytes) }
  }

  /** Removes the given offsets (ascending; ones not stored are ignored). */
  removeOffsets(topicId: number, partition: number, offsets: readonly number[]): Removed {
    const removed: Removed = { records: 0, bytes: 0 }
    let i = 0
    while (i < offsets.length) {
      const row = this.rowFrom(topicId, partition, offsets[i])
      if (row === undefined) break
      const inRow = new Set<number>()
      while (i < offsets.length && offsets[i] <= row.lastOffset) inRow.add(offsets[i++])
      this.rewrite(row, (offset) => inRow.has(offset), removed)
    }
    return removed
  }

  /**
   * Removes the partition's records below `end`, at most `maxRows` whole rows of them (plus the one `end` cuts);
   * returns what it removed and the offset below which nothing is left (`end` once done).
   */
  removeBefore(topicId: number, partition: number, end: number, maxRows: number): Removed & { reached: number } {
    const removed: Removed = { records: 0, bytes: 0 }
    for (const row of this.oldest(topicId, partition, maxRows)) {
      if (row.baseOffset >= end) return { ...removed, reached: end }
      if (row.lastOffset >= end) {
        this.rewrite(this.data(row), (offset) => offset < end, removed)
        return { ...removed, reached: end }
      }
      this.deleteStmt.run(row.id)
      removed.records += row.records
      removed.bytes += row.bytes
    }
    const next = this.firstOffset(topicId, partition)
    return { ...removed, reached: next === undefined || next >= end ? end : next }
  }

  /** Deletes up to `maxRows` rows of a deleted topic; returns the records they held. */
  removeTopicRows(topicId: number, maxRows: number): { rows: number; records: number } {
    const counts = this.deleteTopicStmt.all(topicId, maxRows) as number[]
    return { rows: counts.length, records: counts.reduce((a, b) => a + b, 0) }
  }

  private rewrite(row: BatchRow, drop: (offset: number) => boolean, removed: Removed): void {
    const kept = rewriteBatch(row, drop)
    if (kept === null) {
      this.deleteStmt.run(row.id)
      removed.records += row.records
      removed.bytes += row.bytes
      return
    }
    if (kept.records === row.records) return
    // A rewrite is format 2 (rewriteBatch): the row's payload, if it had one, is left to the segment's deletion.
    this.updateStmt.run(kept.baseOffset, kept.lastOffset, kept.records, kept.bytes, kept.maxTimestamp, kept.data, row.id)
    removed.records += row.records - kept.records
    removed.bytes += row.bytes - kept.bytes
  }

  private toBatchRow(row: Row | undefined): BatchRow | undefined {
    if (row === undefined) return undefined
    const [id, baseOffset, lastOffset, records, bytes, maxTimestamp, data, payload, segment, segmentAt, segmentBytes] = row
    return { id, baseOffset, lastOffset, records, bytes, maxTimestamp, data,
      payload: this.payloadOf(payload, segment, segmentAt, segmentBytes) }
  }

  private payloadOf(payload: Buffer | null, segment: number | null, position: number | null, length: number | null): Buffer | null {
    if (segment === null) return payload
    return this.requireSegments().read({ segment, position: position as number }, length as number)
  }

  private requireSegments(): SegmentFiles {
    if (this.segments === null) throw new Error('format 3 rows need the log\'s segment files')
    return this.segments
  }
}
