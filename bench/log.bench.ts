/**
 * Throughput micro-benchmark of the embedded topic log: append records/s (batches of 1000 records with ~200-byte
 * values, fsync 'always' and 'never'), append records/s through the threaded log as connectors append (a RecordBatch
 * of 1000 records without headers, the next batch handed over while the previous one is made durable, fsync
 * 'always'), and in-process read records/s over 1,000,000 records, the latter also as a
 * ratio against a raw better-sqlite3 scan of the same stored rows, blobs fetched but not decoded (the ceiling for
 * this on-disk format). Prints figures;
 * asserts nothing; writes bench/results/log.json. Run: `npx tsx bench/log.bench.ts`. Uses a temporary directory that
 * it removes.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { createEmbeddedTopicLog } from '../src/log/embedded/embedded-topic-log.js'
import { RecordBatch } from '../src/log/record-batch.js'
import { createThreadedTopicLog } from '../src/log/threaded/threaded-topic-log.js'
import type { AppendRecord } from '../src/log/topic-log.js'

const BATCH = 1000
const VALUE_BYTES = 200
const READ_RECORDS = 1_000_000

function makeBatch(topic: string, n: number, seq: number): AppendRecord[] {
  const value = randomBytes(VALUE_BYTES)
  const records: AppendRecord[] = []
  for (let i = 0; i < n; i++) {
    records.push({ topic, key: Buffer.from(`key-${seq + i}`), value, headers: { op: 'c' } })
  }
  return records
}

async function benchAppend(fsync: 'always' | 'never', totalRecords: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-log-bench-'))
  try {
    const log = await createEmbeddedTopicLog({ dir, fsync, retentionCheckIntervalMs: 0 })
    await log.createTopic('bench')
    const batches = Array.from({ length: 20 }, (_, i) => makeBatch('bench', BATCH, i * BATCH))
    const started = performance.now()
    for (let i = 0; i < totalRecords / BATCH; i++) await log.append(batches[i % batches.length])
    const seconds = (performance.now() - started) / 1000
    await log.close()
    return totalRecords / seconds
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Appends through the threaded log, as a connector does: RecordBatches, one being made durable while the next fills. */
async function benchThreadedAppend(totalRecords: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-log-bench-'))
  try {
    const log = await createThreadedTopicLog({ dir, retentionCheckIntervalMs: 0 })
    await log.createTopic('bench')
    const value = randomBytes(VALUE_BYTES)
    const started = performance.now()
    let previous: Promise<unknown> | null = null
    for (let b = 0; b < totalRecords / BATCH; b++) {
      const batch = new RecordBatch()
      for (let i = 0; i < BATCH; i++) batch.add({ topic: 'bench', key: `key-${b * BATCH + i}`, value })
      const appended = log.append(batch)
      if (previous) await previous
      previous = appended
    }
    await previous
    const seconds = (performance.now() - started) / 1000
    await log.close()
    return totalRecords / seconds
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

interface ReadFigures {
  batch: number
  readPerSecond: number
  rawPerSecond: number
}

/** The same stored rows fetched straight through better-sqlite3, a seek per row as the log reads them, no records
 * decoded. */
function rawScanPerSecond(dir: string): number {
  const db = new Database(join(dir, 'topic-log.db'), { readonly: true })
  db.pragma('cache_size = -8192') // as the log's own connection
  const select = db
    .prepare(
      'SELECT last_offset, records, data FROM batches ' +
        'WHERE topic_id = 1 AND part = 0 AND last_offset >= ? ORDER BY last_offset LIMIT 1',
    )
    .raw(true)
  const started = performance.now()
  let read = 0
  for (let offset = 0; offset < READ_RECORDS; ) {
    const row = select.get(offset) as [number, number, Buffer] | undefined
    if (row === undefined) break
    read += row[1]
    offset = row[0] + 1
  }
  const perSecond = read / ((performance.now() - started) / 1000)
  db.close()
  return perSecond
}

async function benchRead(): Promise<ReadFigures[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-log-bench-'))
  try {
    const log = await createEmbeddedTopicLog({ dir, fsync: 'never', retentionCheckIntervalMs: 0 })
    await log.createTopic('bench')
    const batches = Array.from({ length: 20 }, (_, i) => makeBatch('bench', 5000, i * 5000))
    for (let i = 0; i < READ_RECORDS / 5000; i++) await log.append(batches[i % batches.length])
    const results: Array<Omit<ReadFigures, 'rawPerSecond'>> = []
    for (const batch of [500, 5000]) {
      const started = performance.now()
      let offset = 0
      let read = 0
      while (offset < READ_RECORDS) {
        const records = await log.read('bench', 0, offset, { maxRecords: batch, maxBytes: 64 * 1024 * 1024 })
        if (records.length === 0) break
        read += records.length
        offset = records[records.length - 1].offset + 1
      }
      if (read !== READ_RECORDS) throw new Error(`read ${read} records, expected ${READ_RECORDS}`)
      results.push({ readPerSecond: read / ((performance.now() - started) / 1000), batch })
    }
    await log.close()
    return results.map((r) => ({ ...r, rawPerSecond: rawScanPerSecond(dir) }))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')
console.log(`embedded topic log — batches of ${BATCH}, ${VALUE_BYTES}-byte values, node ${process.version}`)
const appendAlways = await benchAppend('always', 200_000)
console.log(`append fsync=always: ${fmt(appendAlways)} records/s`)
const appendNever = await benchAppend('never', 500_000)
console.log(`append fsync=never:  ${fmt(appendNever)} records/s`)
const appendThreaded = await benchThreadedAppend(500_000)
console.log(`append through the threaded log (RecordBatch, fsync=always): ${fmt(appendThreaded)} records/s`)
const reads = await benchRead()
for (const r of reads) {
  const ratio = (r.readPerSecond / r.rawPerSecond).toFixed(2)
  console.log(`read 1,000,000 records, maxRecords=${r.batch}: ${fmt(r.readPerSecond)} records/s ` +
    `(${ratio}x of fetching the stored rows alone: ${fmt(r.rawPerSecond)} records/s)`)
}
const report = {
  bench: 'log',
  at: new Date().toISOString(),
  node: process.version,
  appendRecordsPerSecond: { fsyncAlways: Math.round(appendAlways), fsyncNever: Math.round(appendNever) },
  threadedRecordBatchAppendRecordsPerSecond: Math.round(appendThreaded),
  read: reads.map((r) => ({
    maxRecords: r.batch,
    recordsPerSecond: Math.round(r.readPerSecond),
    rawScanRowsPerSecond: Math.round(r.rawPerSecond),
    ratio: Number((r.readPerSecond / r.rawPerSecond).toFixed(2)),
  })),
}
writeFileSync(join(import.meta.dirname, 'results', 'log.json'), `${JSON.stringify(report, null, 2)}\n`)
