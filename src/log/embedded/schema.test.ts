import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BatchStore } from './batch-store.js'
import { openLogDatabase } from './schema.js'
import { BatchEncoder } from './stored-batch.js'

describe('openLogDatabase', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-log-schema-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('creates a new log file with 64 KiB pages and checkpoints every 64 MiB of WAL', () => {
    const db = openLogDatabase(dir, 'always')
    expect(db.pragma('page_size', { simple: true })).toBe(65536)
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1024)
    db.close()
  })

  it('keeps the page size of an existing log file, and sizes the checkpoint interval in its pages', () => {
    const old = new Database(join(dir, 'topic-log.db'))
    old.pragma('page_size = 4096')
    old.pragma('journal_mode = WAL')
    old.exec('CREATE TABLE placeholder (x)')
    old.close()
    const db = openLogDatabase(dir, 'always')
    expect(db.pragma('page_size', { simple: true })).toBe(4096)
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(16384)
    db.close()
  })

  it('gives a log of schema version 3 the payload column and marks it 4, its rows read as they are', () => {
    const db = openLogDatabase(dir, 'always')
    db.close()
    // A version 3 log as that build left it: no payload column, a format 2 row.
    const old = new Database(join(dir, 'topic-log.db'))
    old.pragma('journal_mode = WAL')
    old.exec('ALTER TABLE batches DROP COLUMN payload')
    old.prepare("UPDATE meta SET value = '3' WHERE key = 'schema_version'").run()
    const encoder = new BatchEncoder()
    encoder.add(0, 1, Buffer.from('k'), Buffer.from('v'), null)
    const row = encoder.cut()
    old.prepare('INSERT INTO batches (topic_id, part, base_offset, last_offset, records, bytes, max_timestamp, data) ' +
      'VALUES (1, 0, ?, ?, ?, ?, ?, ?)').run(row.baseOffset, row.lastOffset, row.records, row.bytes, row.maxTimestamp, row.data)
    old.close()

    const reopened = openLogDatabase(dir, 'always')
    expect(reopened.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()).toBe('4')
    const values: string[] = []
    new BatchStore(reopened).scan(1, 0, 0, (record) => values.push(`${record.key}=${record.value}`) > 0)
    expect(values).toEqual(['k=v'])
    reopened.close()
  })

  it('marks a log of schema version 2 as 4 (its rows read as they are), and refuses a version it does not know', () => {
    const db = openLogDatabase(dir, 'always')
    db.prepare("UPDATE meta SET value = '2' WHERE key = 'schema_version'").run()
    db.close()
    const reopened = openLogDatabase(dir, 'always')
    expect(reopened.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()).toBe('4')
    reopened.prepare("UPDATE meta SET value = '5' WHERE key = 'schema_version'").run()
    reopened.close()
    expect(() => openLogDatabase(dir, 'always')).toThrow(/schema version 5; this build reads 4/)
  })
})
