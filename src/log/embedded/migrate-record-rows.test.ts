import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { LogRecord, TopicLog } from '../topic-log.js'
import { createEmbeddedTopicLog } from './embedded-topic-log.js'

let dir: string
let log: TopicLog | undefined

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-log-migrate-'))
})

afterEach(async () => {
  await log?.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Schema version 1's records table, as Sluice wrote it before records were stored many to a row. */
const V1_RECORDS = `CREATE TABLE records (
  topic_id INTEGER NOT NULL, part INTEGER NOT NULL, off INTEGER NOT NULL, timestamp INTEGER NOT NULL,
  size INTEGER NOT NULL, key BLOB, value BLOB, headers TEXT, PRIMARY KEY (topic_id, part, off)) WITHOUT ROWID`

interface V1Record {
  part: number
  off: number
  timestamp: number
  key: string | null
  value: string | null
  headers: string | null
}

/** Turns a fresh log directory (topics created, no records) into a version-1 log holding `records`. */
function writeVersion1(records: V1Record[], topicId: number): void {
  const db = new Database(join(dir, 'topic-log.db'))
  db.exec(V1_RECORDS)
  db.exec('DROP TABLE batches')
  const insert = db.prepare('INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
  for (const r of records) {
    const size = Buffer.byteLength(r.key ?? '') + Buffer.byteLength(r.value ?? '') + Buffer.byteLength(r.headers ?? '')
    insert.run(topicId, r.part, r.off, r.timestamp, size, r.key === null ? null : Buffer.from(r.key),
      r.value === null ? null : Buffer.from(r.value), r.headers)
  }
  for (const part of [0, 1]) {
    const mine = records.filter((r) => r.part === part)
    const bytes = mine.reduce((n, r) => n + Buffer.byteLength(r.key ?? '') + Buffer.byteLength(r.value ?? '') +
      Buffer.byteLength(r.headers ?? ''), 0)
    db.prepare('UPDATE partitions SET next_offset = ?, records = ?, bytes = ?, max_timestamp = ? ' +
      'WHERE topic_id = ? AND part = ?')
      .run(Math.max(...mine.map((r) => r.off)) + 1, mine.length, bytes, Math.max(...mine.map((r) => r.timestamp)),
        topicId, part)
    db.prepare('INSERT INTO time_index VALUES (?, ?, 0, ?)').run(topicId, part, Math.max(...mine.map((r) => r.timestamp)))
  }
  db.prepare("UPDATE meta SET value = '1' WHERE key = 'schema_version'").run()
  db.close()
}

describe('topic log schema version 1 → 2', () => {
  it('moves one-row-per-record logs into stored rows on open, keeping every record, gap and counter', async () => {
    log = await createEmbeddedTopicLog({ dir, retentionCheckIntervalMs: 0 })
    await log.createTopic('t', { partitions: 2, retentionMs: -1 })
    await log.close()
    log = undefined
    // 12,000 records of ~100 bytes in partition 0 (several stored rows and keyset pages), a few in partition 1, with
    // gaps (as compaction left them), null keys and values, and headers.
    const records: V1Record[] = []
    for (let off = 0; off < 12_500; off++) {
      if (off % 97 === 5) continue
      records.push({ part: 0, off, timestamp: 1_000 + off, key: off % 3 === 0 ? null : `k${off}`,
        value: off % 11 === 0 ? null : `${off}-${'x'.repeat(100)}`, headers: off % 5 === 0 ? '{"h":"1"}' : null })
    }
    records.push({ part: 1, off: 3, timestamp: 7, key: 'a', value: 'b', headers: null })
    const topicId = 1
    writeVersion1(records, topicId)

    const logged: Array<{ obj: object; msg?: string }> = []
    const logger = { info: (obj: object, msg?: string) => logged.push({ obj, msg }), error: () => undefined }
    log = await createEmbeddedTopicLog({ dir, retentionCheckIntervalMs: 0, logger })
    // An operator sees why this start took longer.
    expect(logged).toEqual([{ obj: expect.objectContaining({ fromVersion: 1, toVersion: 2, records: records.length }),
      msg: 'topic log converted to records stored many to a row' }])
    const plain = (r: LogRecord) => ({ part: r.partition, off: r.offset, timestamp: r.timestamp,
      key: r.key?.toString() ?? null, value: r.value?.toString() ?? null,
      headers: Object.keys(r.headers).length === 0 ? null : JSON.stringify(r.headers) })
    const read: V1Record[] = []
    for (const part of [0, 1]) {
      for (let from = 0; ;) {
        const batch = await log.read('t', part, from, { maxRecords: 1000, maxBytes: 1 << 30 })
        if (batch.length === 0) break
        read.push(...batch.map(plain))
        from = batch[batch.length - 1].offset + 1
      }
    }
    expect(read).toEqual(records)
    expect(await log.offsets('t', 1)).toEqual({ earliest: 3, latest: 4 })
    expect(await log.offsetForTimestamp('t', 0, 1_005)).toBe(6) // offset 5 (timestamp 1,005) is a gap
    const appended = await log.append([{ topic: 't', partition: 0, key: null, value: Buffer.from('after') }])
    expect(appended[0].offset).toBe(12_500)
    await log.close()
    log = undefined

    const db = new Database(join(dir, 'topic-log.db'), { readonly: true })
    expect(db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()).toBe('4')
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'records'").pluck().get()).toBe(0)
    expect(db.prepare('SELECT count(*) FROM batches WHERE part = 0').pluck().get()).toBeGreaterThan(5)
    db.close()
  })
})
