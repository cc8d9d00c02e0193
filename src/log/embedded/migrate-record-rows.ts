/**
 * Schema version 1 → 2: a log written by an earlier Sluice stored each record as a row of `records`; this moves them
 * into `batches` rows (stored-batch.ts) and drops the old table, in one transaction, so a crash midway leaves the
 * version-1 log as it was and the next open migrates again. Offsets, timestamps, keys, values, headers and the
 * partitions' counters are unchanged; rows are cut per partition as the appender cuts them.
 */
import { BatchStore } from './batch-store.js'
import type { Db } from './schema.js'
import { BatchEncoder, TARGET_BATCH_BYTES } from './stored-batch.js'

/** Records read at a time (keyset pages: better-sqlite3 cannot write while a statement is being iterated). */
const PAGE = 5000

type RecordRow = [topicId: number, part: number, offset: number, timestamp: number, key: Buffer | null,
  value: Buffer | null, headers: string | null]

/** Returns the number of records moved. */
export function migrateFromRecordRows(db: Db): number {
  return db.transaction(() => {
    const hasRecords = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'records'").get()
    const moved = hasRecords === undefined ? 0 : copyRecords(db)
    db.exec('DROP TABLE IF EXISTS records')
    db.prepare("UPDATE meta SET value = '2' WHERE key = 'schema_version'").run()
    return moved
  })()
}

function copyRecords(db: Db): number {
  const page = db
    .prepare(
      'SELECT topic_id, part, off, timestamp, key, value, headers FROM records ' +
        'WHERE (topic_id, part, off) > (?, ?, ?) ORDER BY topic_id, part, off LIMIT ?',
    )
    .raw(true)
  const batches = new BatchStore(db)
  const encoder = new BatchEncoder(TARGET_BATCH_BYTES * 2)
  let current: [number, number] = [-1, -1]
  const flush = (): void => {
    if (encoder.length === 0) return
    batches.insert(current[0], current[1], encoder.cut())
  }
  let after: [number, number, number] = [-1, -1, -1]
  let moved = 0
  for (;;) {
    const rows = page.all(...after, PAGE) as RecordRow[]
    moved += rows.length
    for (const [topicId, part, offset, timestamp, key, value, headers] of rows) {
      if (topicId !== current[0] || part !== current[1] || encoder.size >= TARGET_BATCH_BYTES) {
        flush()
        current = [topicId, part]
      }
      encoder.add(offset, timestamp, key, value, headers === null ? null : Buffer.from(headers))
    }
    if (rows.length < PAGE) break
    const last = rows[rows.length - 1]
    after = [last[0], last[1], last[2]]
  }
  flush()
  return moved
}
