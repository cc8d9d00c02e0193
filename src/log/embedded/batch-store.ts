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

type Row = [id: number, base: number, last: number, records: number, bytes: number, maxTimestamp: number, data: Buffer,
  payload: Buffer | null]

const COLUMNS = 'id, base_offset, last_offset, records, bytes, max_timestamp, data, payload'

function toBatchRow(row: Row | undefined): BatchRow | undefined {
  if (row === undefined) return undefined
  const [id, baseOffset, lastOffset, records, bytes, maxTimestamp, data, payload] = row
  return { id, baseOffset, lastOffset, records, bytes, maxTimestamp, data, payload }
}

/** Records and bytes a change removed. */
export interface Removed {
  records: number
  bytes: number
}

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

  constructor(db: Db) {
    this.insertStmt = db.prepare(
      'INSERT INTO batches (topic_id, part, base_offset, last_offset, records, bytes, max_timestamp, data, payload) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    )
    this.updateStmt = db.prepare(
      'UPDATE batches SET base_offset = ?, last_offset = ?, records = ?, bytes = ?, max_timestamp = ?, data = ?, ' +
        'payload = ? WHERE id = ?',
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
    this.selectData = db.prepare('SELECT data, payload FROM batches WHERE id = ?').raw(true)
    this.deleteTopicStmt = db
      .prepare('DELETE FROM batches WHERE id IN (SELECT id FROM batches WHERE topic_id = ? LIMIT ?) RETURNING records')
      .pluck(true)
  }

  insert(topicId: number, partition: number, batch: EncodedBatch): void {
    this.insertStmt.run(topicId, partition, batch.baseOffset, batch.lastOffset, batch.records, batch.bytes,
      batch.maxTimestamp, batch.data, batch.payload)
  }

  /** The row holding `offset`, or the first one after it. */
  rowFrom(topicId: number, partition: number, offset: number): BatchRow | undefined {
    return toBatchRow(this.selectFrom.get(topicId, partition, offset) as Row | undefined)
  }

  /**
   * Walks the partition's records from offset `from` on, in order, a stored row at a time, until `visit` returns
   * false or the records end. With `minTimestamp`, rows holding no record at or after it are skipped unread.
   */
  scan(topicId: number, partition: number, from: number, visit: (record: BatchCursor) => boolean,
    minTimestamp?: number): void {
    for (;;) {
      const row = toBatchRow((minTimestamp === undefined
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
    const [data, payload] = this.selectData.get(row.id) as [Buffer, Buffer | null]
    return { ...row, data, payload }
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
    this.updateStmt.run(kept.baseOffset, kept.lastOffset, kept.records, kept.bytes, kept.maxTimestamp, kept.data,
      kept.payload, row.id)
    removed.records += row.records - kept.records
    removed.bytes += row.bytes - kept.bytes
  }
}
