/**
 * Opens the embedded log's SQLite database (`<dir>/topic-log.db`) and creates its tables.
 *
 * On-disk format and crash behaviour: one SQLite database in WAL mode (and segment files, below). Every append is
 * one transaction; with `fsync: 'always'` we run `synchronous=FULL`, so the WAL is fsynced before the commit returns
 * and a resolved append survives `kill -9` and power loss. With `fsync: 'never'` (`synchronous=OFF`) a committed
 * append still survives `kill -9` (it is in the OS page cache) but not a power cut. A crash mid-write leaves a torn
 * WAL tail: SQLite checksums every WAL frame (cumulatively, salted per checkpoint generation) and on the next open
 * replays only frames up to the last valid commit frame, so a partial transaction is discarded, never served. That
 * is enough because an append resolves only after its commit frame is durable: whatever is discarded was never
 * acknowledged, and an atomic append is either wholly before the torn point or wholly dropped.
 *
 * Big packed appends keep their records' bytes beside the database, in segment files (segment-files.ts), which are
 * made durable before the transaction that points at them commits; so the same holds for them.
 *
 * `locking_mode=EXCLUSIVE` makes a second process opening the same directory fail fast instead of corrupting the
 * in-memory offset cache; the OS drops the lock when a process dies, so a restart after `kill -9` just works.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { migrateFromRecordRows } from './migrate-record-rows.js'

export type Db = Database.Database
export type FsyncMode = 'always' | 'never'

/**
 * 4: rows may be in stored-batch.ts format 3, whose records' bytes are in a segment file (segment-files.ts) or the
 * `payload` column, which a build that reads 3 would not read; a 3 (or older) gets the columns on open and is marked
 * 4, its rows read as they are.
 * 3: rows may hold value frames (stored-batch.ts format 2), which a build that reads 2 would misread, so it must
 * refuse the file; a 2 is marked 3 on open, its rows read as they are. 2: records stored many to a row (`batches`);
 * 1 stored one per row (`records`) and is migrated on open.
 */
const SCHEMA_VERSION = 4
/**
 * 64 KiB pages (SQLite's largest; applies to a new file) rather than 4 KiB: records are appended in key order and
 * read sequentially, so bigger pages mean fewer page splits and WAL frames per append. Measured with better-sqlite3
 * on 300,000 inserts in transactions of 2,000, fsync on: 600-byte values 213k → 294k records/s, 2,000-byte values
 * 52k → 153k records/s (measured when a record was a row of a WITHOUT ROWID table, whose page splits copy more the
 * smaller the page).
 */
const PAGE_SIZE = 65536
/** WAL size after which a commit checkpoints. */
const WAL_AUTOCHECKPOINT_BYTES = 64 * 1024 * 1024

// `part` and `off` are a record's partition and offset (PARTITION and OFFSET are SQL keywords).
const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
-- AUTOINCREMENT: ids are never reused, so a deleted topic's records can be collected lazily, in small batches,
-- while a topic re-created under the same name starts afresh at offset 0.
CREATE TABLE IF NOT EXISTS topics (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  partitions INTEGER NOT NULL,
  cleanup_policy TEXT NOT NULL,
  retention_ms INTEGER NOT NULL,
  retention_bytes INTEGER NOT NULL,
  max_message_bytes INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS partitions (
  topic_id INTEGER NOT NULL,
  part INTEGER NOT NULL,
  next_offset INTEGER NOT NULL,
  records INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  max_timestamp INTEGER NOT NULL,
  cleaned_to INTEGER NOT NULL,
  PRIMARY KEY (topic_id, part)
) WITHOUT ROWID;
-- Records, many to a row (stored-batch.ts has the blobs' layout: data, and for format 3 the payload, which is in
-- segment file \`segment\` at byte segment_at, segment_bytes long, or in \`payload\`). A partition's rows never overlap;
-- base_offset and last_offset are the first and last record still in the row, bytes the records' sizes as
-- partitions.bytes counts.
CREATE TABLE IF NOT EXISTS batches (
  id INTEGER PRIMARY KEY,
  topic_id INTEGER NOT NULL,
  part INTEGER NOT NULL,
  base_offset INTEGER NOT NULL,
  last_offset INTEGER NOT NULL,
  records INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  max_timestamp INTEGER NOT NULL,
  data BLOB NOT NULL,
  payload BLOB,
  segment INTEGER,
  segment_at INTEGER,
  segment_bytes INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS batches_by_offset ON batches (topic_id, part, last_offset);
-- One row per append that raised the partition's running maximum timestamp (Kafka's time index): the first row
-- with max_timestamp >= t starts the batch holding the first record with timestamp >= t.
CREATE TABLE IF NOT EXISTS time_index (
  topic_id INTEGER NOT NULL,
  part INTEGER NOT NULL,
  base_offset INTEGER NOT NULL,
  max_timestamp INTEGER NOT NULL,
  PRIMARY KEY (topic_id, part, base_offset)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS time_index_by_timestamp ON time_index (topic_id, part, max_timestamp);
-- Compacted topics: the latest offset seen by the cleaner for each key.
CREATE TABLE IF NOT EXISTS compact_keys (
  topic_id INTEGER NOT NULL,
  part INTEGER NOT NULL,
  key BLOB NOT NULL,
  off INTEGER NOT NULL,
  tombstone_timestamp INTEGER,
  PRIMARY KEY (topic_id, part, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS compact_keys_tombstones ON compact_keys (topic_id, part, tombstone_timestamp)
  WHERE tombstone_timestamp IS NOT NULL;
CREATE TABLE IF NOT EXISTS group_offsets (
  group_id TEXT NOT NULL,
  topic TEXT NOT NULL,
  part INTEGER NOT NULL,
  off INTEGER NOT NULL,
  committed_at INTEGER NOT NULL,
  PRIMARY KEY (group_id, topic, part)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deleted_topics (topic_id INTEGER PRIMARY KEY);
`

/** `onMigrated`: told when an older log was converted on this open (it can take a while for a large one). */
export function openLogDatabase(dir: string, fsync: FsyncMode,
  onMigrated?: (migration: { fromVersion: number; records: number; durationMs: number }) => void): Db {
  mkdirSync(dir, { recursive: true })
  // A short busy timeout: the only lock contention is another process holding the directory.
  const db = new Database(join(dir, 'topic-log.db'), { timeout: 1000 })
  try {
    // First: a new file's page size is fixed by whatever touches it first (after `locking_mode` it stayed 4 KiB).
    db.pragma(`page_size = ${PAGE_SIZE}`)
    // Exclusive locking must be set before entering WAL mode so no shared-memory wal-index is used.
    db.pragma('locking_mode = EXCLUSIVE')
    // Takes effect only when the file is new; lets the retention pass hand freed pages back to the file system.
    db.pragma('auto_vacuum = INCREMENTAL')
    db.pragma('journal_mode = WAL')
    db.pragma(`synchronous = ${fsync === 'always' ? 'FULL' : 'OFF'}`)
    // 8 MiB of page cache rather than 64: appends go through the WAL and reads are mostly of recent pages the OS
    // still caches, so a large cache bought nothing but memory — it filled during any big snapshot (blocking
    // snapshot of 300,000 rows: Sluice's peak RSS 334 → 282 MB at the same rows/s).
    db.pragma('cache_size = -8192')
    // Checkpoint every 64 MB of WAL rather than SQLite's 4 MB: a checkpoint (copy to the database file plus two
    // fsyncs) ran inside nearly every append of 5,000 change events. Measured on an append of 5,000 records of
    // ~600 bytes: 24 ms → 15 ms. Crash safety is unchanged (the WAL is replayed on open, whatever its length); the
    // size limit keeps the WAL file from staying larger than that after a checkpoint resets it.
    // In pages of the file's own size: a log created before 64 KiB pages took effect keeps its 4 KiB ones.
    const pageSize = db.pragma('page_size', { simple: true }) as number
    db.pragma(`wal_autocheckpoint = ${Math.round(WAL_AUTOCHECKPOINT_BYTES / pageSize)}`)
    db.pragma(`journal_size_limit = ${WAL_AUTOCHECKPOINT_BYTES}`)
    db.pragma('temp_store = MEMORY')
    db.exec(SCHEMA)
    const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as
      | { value: string }
      | undefined
    if (row === undefined) {
      db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION))
    } else if (Number(row.value) >= 1 && Number(row.value) <= 3) {
      if (Number(row.value) === 1) {
        const started = Date.now()
        const records = migrateFromRecordRows(db)
        onMigrated?.({ fromVersion: 1, records, durationMs: Date.now() - started })
      }
      // A table made by an older build lacks format 3's columns (one made by this build's SCHEMA, as for a version 1
      // log, has them). Adding a nullable column rewrites nothing.
      const columns = db.prepare("SELECT name FROM pragma_table_info('batches')").pluck(true).all() as string[]
      const format3 = [['payload', 'BLOB'], ['segment', 'INTEGER'], ['segment_at', 'INTEGER'], ['segment_bytes', 'INTEGER']]
      for (const [name, type] of format3) {
        if (!columns.includes(name)) db.exec(`ALTER TABLE batches ADD COLUMN ${name} ${type}`)
      }
      db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(SCHEMA_VERSION))
    } else if (Number(row.value) !== SCHEMA_VERSION) {
      throw new Error(`topic log at ${dir} has schema version ${row.value}; this build reads ${SCHEMA_VERSION}`)
    }
    // Which segment files rows point at (retention deletes the others): only rows with a segment are in the index.
    db.exec('CREATE INDEX IF NOT EXISTS batches_by_segment ON batches (segment) WHERE segment IS NOT NULL')
    return db
  } catch (err) {
    db.close()
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new Error(`topic log directory ${dir} is in use by another process`, { cause: err })
    }
    throw err
  }
}
