import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import Database from 'better-sqlite3'
import { InvalidLogRequestError } from '../log-errors.js'
import { RecordBatch } from '../record-batch.js'
import type { AppendRecord, LogRecord, TopicLog } from '../topic-log.js'
import { SEGMENT_MIN_BYTES } from './batch-store.js'
import { BATCH_RECORDS } from './batch-work.js'
import { createEmbeddedTopicLog } from './embedded-topic-log.js'

const HOUR = 3600_000
let dir: string
let log: TopicLog

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-log-retention-'))
  log = await createEmbeddedTopicLog({ dir, retentionCheckIntervalMs: 0, tombstoneRetentionMs: HOUR })
})

afterEach(async () => {
  await log.close()
  rmSync(dir, { recursive: true, force: true })
})

const rec = (topic: string, key: string | null, value: string | null, timestamp?: number): AppendRecord => ({
  topic,
  key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
  timestamp,
})

async function readAll(topic: string, partition = 0): Promise<LogRecord[]> {
  const all: LogRecord[] = []
  for (let offset = 0; ; ) {
    const batch = await log.read(topic, partition, offset, { maxRecords: 10_000, maxBytes: 1 << 30 })
    if (batch.length === 0) return all
    all.push(...batch)
    offset = batch[batch.length - 1].offset + 1
  }
}

/** A round of `count` records to topic 'c' over `keys` keys (shifted each round); `latest` gets each key's value. */
function compactionRound(round: number, count: number, keys: number, latest: Map<string, string>): AppendRecord[] {
  const batch: AppendRecord[] = []
  for (let i = 0; i < count; i++) {
    const key = `k${(i * 7 + round * 13) % keys}`
    const value = `${key}-r${round}-i${i}`
    latest.set(key, value)
    batch.push(rec('c', key, value))
  }
  return batch
}

/** Each key's stored value across the topic's partitions, checking that no key is stored twice and the stats agree. */
async function storedPerKey(topic: string, partitions: number): Promise<Map<string, string>> {
  const seen = new Map<string, string>()
  for (let p = 0; p < partitions; p++) {
    const records = await readAll(topic, p)
    expect((await log.stats(topic, p)).records).toBe(records.length)
    for (const r of records) {
      const key = r.key!.toString()
      expect(seen.has(key)).toBe(false)
      seen.set(key, r.value!.toString())
    }
  }
  return seen
}

describe('embedded topic log: retention by time and bytes', () => {
  it('deletes the records older than retentionMs, as a prefix, and keeps the log end offset', async () => {
    const now = 10 * HOUR
    await log.createTopic('t', { retentionMs: HOUR })
    await log.append([1, 2, 3].map((h) => rec('t', null, `old${h}`, now - 10 * HOUR + h)))
    await log.append([rec('t', null, 'new1', now - HOUR / 2), rec('t', null, 'new2', now)])
    expect(await log.enforceRetention(now)).toEqual({ deletedRecords: 3 })
    expect((await readAll('t')).map((r) => r.value?.toString())).toEqual(['new1', 'new2'])
    expect(await log.offsets('t', 0)).toEqual({ earliest: 3, latest: 5 })
    expect(await log.stats('t', 0)).toEqual({ records: 2, bytes: 8 })
    expect(await log.offsetForTimestamp('t', 0, 0)).toBe(3)
    expect(await log.enforceRetention(now)).toEqual({ deletedRecords: 0 })
    // Everything expires: the partition is empty but offsets continue.
    expect(await log.enforceRetention(now + 2 * HOUR)).toEqual({ deletedRecords: 2 })
    expect(await log.offsets('t', 0)).toEqual({ earliest: 5, latest: 5 })
    expect(await log.append([rec('t', null, 'next')])).toEqual([{ topic: 't', partition: 0, offset: 5 }])
  })

  it('keeps records forever with retentionMs -1, and deletes a large backlog in many batches', async () => {
    await log.createTopic('forever', { retentionMs: -1 })
    await log.createTopic('big', { retentionMs: HOUR })
    await log.append([rec('forever', null, 'x', 0)])
    const n = BATCH_RECORDS * 2 + 17
    await log.append(Array.from({ length: n }, (_, i) => rec('big', null, 'x', i)))
    await log.append([rec('big', null, 'fresh', 100 * HOUR)])
    expect(await log.enforceRetention(100 * HOUR)).toEqual({ deletedRecords: n })
    expect(await log.offsets('forever', 0)).toEqual({ earliest: 0, latest: 1 })
    expect(await log.offsets('big', 0)).toEqual({ earliest: n, latest: n + 1 })
  })

  it('deletes the oldest records until the partition fits in retentionBytes', async () => {
    await log.createTopic('t', { retentionMs: -1, retentionBytes: 250, partitions: 2 })
    await log.append(Array.from({ length: 10 }, (_, i) => ({ ...rec('t', null, 'x'.repeat(100)), partition: 0 })))
    await log.append([{ ...rec('t', null, 'y'.repeat(100)), partition: 1 }])
    expect(await log.enforceRetention()).toEqual({ deletedRecords: 8 })
    expect(await log.stats('t', 0)).toEqual({ records: 2, bytes: 200 })
    expect(await log.offsets('t', 0)).toEqual({ earliest: 8, latest: 10 })
    expect(await log.stats('t', 1)).toEqual({ records: 1, bytes: 100 })
    await log.updateTopic('t', { retentionBytes: 0 })
    await log.enforceRetention()
    expect(await log.stats('t', 0)).toEqual({ records: 0, bytes: 0 })
  })

  it('runs retention on its timer', async () => {
    await log.close()
    let reportPass!: (fields: object) => void
    const passReported = new Promise<object>((resolve) => {
      reportPass = resolve
    })
    const logger = { info: (fields: object) => reportPass(fields), error: () => undefined }
    log = await createEmbeddedTopicLog({ dir, retentionCheckIntervalMs: 20, logger })
    await log.createTopic('t', { retentionMs: 0 })
    await log.append([rec('t', null, 'x', 1)])
    // The timer's pass logs what it deleted; nothing else in this test runs retention.
    expect(await passReported).toMatchObject({ deletedRecords: 1 })
    expect(await log.stats('t', 0)).toEqual({ records: 0, bytes: 0 })
  })
})

describe('embedded topic log: deleted topics', () => {
  it('collects a deleted topic in the background and gives the space back to the file system', async () => {
    await log.createTopic('big')
    await log.createTopic('small')
    const value = Buffer.alloc(1000, 7)
    // 50 MB: the pass keeps up to 16 MiB of free pages for later appends, so the file must be well above that.
    for (let i = 0; i < 10; i++) {
      await log.append(Array.from({ length: 5000 }, () => ({ topic: 'big', key: null, value })))
    }
    await log.append([rec('small', null, 'kept')])
    await log.close()
    const before = statSync(join(dir, 'topic-log.db')).size
    log = await createEmbeddedTopicLog({ dir, retentionCheckIntervalMs: 0 })
    await log.deleteTopic('big')
    // deleteTopic starts a background pass; this one runs after it, so both are done when it resolves.
    await log.enforceRetention()
    await log.close()
    const after = statSync(join(dir, 'topic-log.db')).size
    expect(before).toBeGreaterThan(50_000_000)
    expect(after).toBeLessThan(before / 2)
    log = await createEmbeddedTopicLog({ dir, retentionCheckIntervalMs: 0 })
    expect((await readAll('small')).map((r) => r.value?.toString())).toEqual(['kept'])
  })
})

describe('embedded topic log: compaction', () => {
  it('keeps the latest record per key, keeps offsets, and never loses the latest', async () => {
    await log.createTopic('c', { cleanupPolicy: 'compact', retentionMs: 1 })
    await log.append([rec('c', 'a', 'a1', 1), rec('c', 'b', 'b1', 1), rec('c', 'a', 'a2', 1)])
    await log.append([rec('c', 'c', 'c1', 1), rec('c', 'a', 'a3', 1), rec('c', 'b', 'b2', 1)])
    expect(await log.enforceRetention(10 * HOUR)).toEqual({ deletedRecords: 3 })
    const kept = await readAll('c')
    expect(kept.map((r) => `${r.offset}:${r.value?.toString()}`)).toEqual(['3:c1', '4:a3', '5:b2'])
    expect(await log.stats('c', 0)).toEqual({ records: 3, bytes: 9 })
    // A later update of one key removes only that key's previous record.
    await log.append([rec('c', 'c', 'c2', 1)])
    await log.enforceRetention(10 * HOUR)
    expect((await readAll('c')).map((r) => r.value?.toString())).toEqual(['a3', 'b2', 'c2'])
    expect(await log.offsets('c', 0)).toEqual({ earliest: 4, latest: 7 })
  })

  it('compacts many keys across batches and reopen, keeping exactly the latest value per key', async () => {
    await log.createTopic('c', { cleanupPolicy: 'compact', partitions: 3 })
    const latest = new Map<string, string>()
    for (let round = 0; round < 4; round++) {
      await log.append(compactionRound(round, 3000, 2500, latest))
      if (round === 1) {
        await log.enforceRetention()
        await log.close()
        log = await createEmbeddedTopicLog({ dir, retentionCheckIntervalMs: 0 })
      }
    }
    await log.enforceRetention()
    const seen = await storedPerKey('c', 3)
    expect(seen).toEqual(latest)
  })

  it('keeps a tombstone until tombstoneRetentionMs has passed, then removes it', async () => {
    await log.createTopic('c', { cleanupPolicy: 'compact' })
    const t0 = 5 * HOUR
    await log.append([rec('c', 'a', 'a1', t0), rec('c', 'b', 'b1', t0), rec('c', 'a', null, t0)])
    await log.enforceRetention(t0)
    expect((await readAll('c')).map((r) => `${r.key}:${r.value}`)).toEqual(['b:b1', 'a:null'])
    await log.enforceRetention(t0 + 2 * HOUR)
    expect((await readAll('c')).map((r) => `${r.key}:${r.value}`)).toEqual(['b:b1'])
    // A key written again after its tombstone expired is a fresh key.
    await log.append([rec('c', 'a', 'a2', t0)])
    await log.enforceRetention(t0 + 2 * HOUR)
    expect((await readAll('c')).map((r) => `${r.key}:${r.value}`)).toEqual(['b:b1', 'a:a2'])
  })

  it('rejects unkeyed records in a compacted topic and compacts a topic switched from delete', async () => {
    await log.createTopic('c', { retentionMs: -1 })
    await log.append([rec('c', 'a', '1'), rec('c', 'a', '2'), rec('c', null, 'unkeyed')])
    await log.updateTopic('c', { cleanupPolicy: 'compact' })
    await expect(log.append([rec('c', null, 'x')])).rejects.toBeInstanceOf(InvalidLogRequestError)
    await log.enforceRetention()
    expect((await readAll('c')).map((r) => r.value?.toString())).toEqual(['2', 'unkeyed'])
  })

  it('lets appends proceed while a long compaction runs, between its batches', async () => {
    await log.createTopic('c', { cleanupPolicy: 'compact' })
    const n = BATCH_RECORDS * 4
    await log.append(Array.from({ length: n }, (_, i) => rec('c', `k${i % 10}`, `${i}`)))
    let passDone = false
    const pass = log.enforceRetention().then((result) => {
      passDone = true
      return result
    })
    // One turn of the event loop: the pass has done a batch and yielded, far from done.
    await new Promise((resolve) => setImmediate(resolve))
    expect(passDone).toBe(false)
    await log.append([rec('c', 'k0', 'last')])
    expect(passDone).toBe(false)
    expect((await pass).deletedRecords).toBeGreaterThanOrEqual(n - 10)
    await log.enforceRetention()
    const records = await readAll('c')
    expect(records).toHaveLength(10)
    expect(records.find((r) => r.key?.toString() === 'k0')?.value?.toString()).toBe('last')
  })
})

// Packed appends (a RecordBatch: snapshots, streaming) store rows in format 3, their records' bytes in a segment
// file (stored-batch.ts, segment-files.ts); retention's cut and compaction rewrite such rows into format 2.
describe('embedded topic log: retention and compaction of packed appends', () => {
  // Every payload to a segment file, however small (by default only big ones go, batch-store.ts SEGMENT_MIN_BYTES).
  const open = (segmentMinBytes: number) => createEmbeddedTopicLog({ dir, retentionCheckIntervalMs: 0, tombstoneRetentionMs: HOUR, segmentMinBytes })
  beforeEach(async () => {
    await log.close()
    log = await open(0)
  })

  /** Rows whose payload is in a segment file, and in the row, after reopening the log with `segmentMinBytes`. */
  const packedRows = async (segmentMinBytes = 0): Promise<{ inSegment: number; inRow: number }> => {
    await log.close()
    const db = new Database(join(dir, 'topic-log.db'), { readonly: true })
    const count = (where: string) => db.prepare(`SELECT count(*) FROM batches WHERE ${where}`).pluck().get() as number
    const counts = { inSegment: count('segment IS NOT NULL'), inRow: count('payload IS NOT NULL') }
    db.close()
    log = await open(segmentMinBytes)
    return counts
  }

  it('keeps a small payload in its row by default, and reads it back', async () => {
    await log.close()
    log = await open(SEGMENT_MIN_BYTES)
    await log.createTopic('s')
    await log.append(RecordBatch.of([rec('s', 'k', 'small'), rec('s', null, 'x'.repeat(SEGMENT_MIN_BYTES))]))
    await log.append(RecordBatch.of([rec('s', 'k2', 'small again')]))
    expect(await packedRows(SEGMENT_MIN_BYTES)).toEqual({ inSegment: 1, inRow: 1 })
    expect((await readAll('s')).map((r) => `${r.key}=${r.value?.length}`)).toEqual(['k=5', `null=${SEGMENT_MIN_BYTES}`, 'k2=11'])
  })

  it('cuts a packed row by time and by bytes, records read back whole', async () => {
    const now = 10 * HOUR
    await log.createTopic('t', { retentionMs: HOUR })
    await log.append(RecordBatch.of([1, 2, 3].map((h) => rec('t', `k${h}`, `old${h}`, now - 10 * HOUR + h))
      .concat([rec('t', 'k4', 'new1', now - HOUR / 2), rec('t', null, 'new2', now)])))
    expect(await packedRows()).toEqual({ inSegment: 1, inRow: 0 })
    expect(readdirSync(join(dir, 'segments'))).toEqual(['0000000000000001.seg'])
    expect(await log.enforceRetention(now)).toEqual({ deletedRecords: 3 })
    expect((await readAll('t')).map((r) => `${r.key}=${r.value}`)).toEqual(['k4=new1', 'null=new2'])
    // The cut row was rewritten in format 2, so its segment file (written before the reopen) is gone.
    expect(readdirSync(join(dir, 'segments'))).toEqual([])
    expect(await log.stats('t', 0)).toEqual({ records: 2, bytes: 10 })

    await log.createTopic('b', { retentionBytes: 250 })
    await log.append(RecordBatch.of(Array.from({ length: 10 }, (_, i) => rec('b', null, `${i}`.repeat(100)))))
    expect(await log.enforceRetention(now)).toEqual({ deletedRecords: 8 })
    expect((await readAll('b')).map((r) => r.value?.toString())).toEqual(['8'.repeat(100), '9'.repeat(100)])
  })

  it('compacts packed rows of interleaved partitions across reopen, keeping exactly the latest value per key', async () => {
    await log.createTopic('c', { cleanupPolicy: 'compact', partitions: 3 })
    const latest = new Map<string, string>()
    for (let round = 0; round < 3; round++) {
      await log.append(RecordBatch.of(compactionRound(round, 2000, 1500, latest)))
      if (round === 0) expect((await packedRows()).inSegment).toBeGreaterThan(0)
      await log.enforceRetention()
    }
    expect(await storedPerKey('c', 3)).toEqual(latest)
  })
})
