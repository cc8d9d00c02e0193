/**
 * The log against a model (an array of records) when records span many stored rows (stored-batch.ts cuts rows at
 * 128 KiB): reads starting mid-row and stopping at every kind of limit, retention cutting inside a row, compaction
 * rewriting rows, timestamp lookups, and the partition counters after each.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { AppendRecord, LogRecord, TopicLog } from '../topic-log.js'
import { createEmbeddedTopicLog } from './embedded-topic-log.js'
import { mulberry32 } from '../../../test/harness/seeded-random.js'

interface ModelRecord {
  offset: number
  timestamp: number
  key: string | null
  value: string | null
}

let dir: string
let log: TopicLog

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-log-rows-'))
  log = await createEmbeddedTopicLog({ dir, retentionCheckIntervalMs: 0, tombstoneRetentionMs: 1000 })
})

afterEach(async () => {
  await log.close()
  rmSync(dir, { recursive: true, force: true })
})

const size = (r: ModelRecord) => Buffer.byteLength(r.key ?? '') + Buffer.byteLength(r.value ?? '')
const plain = (r: LogRecord): ModelRecord =>
  ({ offset: r.offset, timestamp: r.timestamp, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null })

/** Appends `calls` calls of `perCall` records with values of 100–1,100 bytes: about 7 stored rows a call. */
async function fill(topic: string, calls: number, perCall: number, next: () => number, keys = 0):
  Promise<ModelRecord[]> {
  const model: ModelRecord[] = []
  for (let c = 0; c < calls; c++) {
    const batch: AppendRecord[] = []
    for (let i = 0; i < perCall; i++) {
      const offset = model.length
      const key = keys > 0 ? `k${Math.floor(next() * keys)}` : null
      const value = keys > 0 && next() < 0.1 ? null : `${offset}:${'v'.repeat(100 + Math.floor(next() * 1000))}`
      const timestamp = 1_000_000 + offset * 10 - Math.floor(next() * 50) // roughly rising, sometimes backwards
      model.push({ offset, timestamp, key, value })
      batch.push({ topic, key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(value),
        timestamp })
    }
    await log.append(batch)
  }
  return model
}

async function readAll(topic: string): Promise<ModelRecord[]> {
  const all: ModelRecord[] = []
  for (let offset = 0; ; ) {
    const batch = await log.read(topic, 0, offset, { maxRecords: 777, maxBytes: 1 << 30 })
    if (batch.length === 0) return all
    all.push(...batch.map(plain))
    offset = batch[batch.length - 1].offset + 1
  }
}

async function expectCounters(topic: string, model: ModelRecord[]): Promise<void> {
  expect(await log.stats(topic, 0)).toEqual({ records: model.length,
    bytes: model.reduce((n, r) => n + size(r), 0) })
  expect((await log.offsets(topic, 0)).earliest).toBe(model[0]?.offset ?? (await log.offsets(topic, 0)).latest)
}

describe('embedded topic log: records across stored rows', () => {
  it('reads from any offset with maxRecords and maxBytes as the model says', async () => {
    const next = mulberry32(1)
    await log.createTopic('t')
    const model = await fill('t', 4, 1500, next)
    for (let i = 0; i < 200; i++) {
      const from = Math.floor(next() * (model.length + 10))
      const maxRecords = 1 + Math.floor(next() * 900)
      const maxBytes = 1 + Math.floor(next() * 400_000)
      const expected: ModelRecord[] = []
      let bytes = 0
      for (const r of model.slice(from)) {
        if (expected.length > 0 && (expected.length === maxRecords || bytes + size(r) > maxBytes)) break
        bytes += size(r)
        expected.push(r)
      }
      const got = (await log.read('t', 0, from, { maxRecords, maxBytes })).map(plain)
      expect(got).toEqual(expected)
    }
  })

  it('cuts retention by bytes and by time inside a stored row, to the record', async () => {
    const next = mulberry32(2)
    await log.createTopic('t', { retentionBytes: -1, retentionMs: -1 })
    let model = await fill('t', 3, 1500, next)
    const limit = Math.floor(model.reduce((n, r) => n + size(r), 0) * 0.37)
    await log.updateTopic('t', { retentionBytes: limit })
    await log.enforceRetention()
    let excess = model.reduce((n, r) => n + size(r), 0) - limit
    while (excess > 0) excess -= size(model.shift() as ModelRecord)
    expect(await readAll('t')).toEqual(model)
    await expectCounters('t', model)

    await log.updateTopic('t', { retentionBytes: -1, retentionMs: 1000 })
    const cutTime = model[Math.floor(model.length / 3)].timestamp
    await log.enforceRetention(cutTime + 1000)
    const first = model.findIndex((r) => r.timestamp >= cutTime)
    model = model.slice(first)
    expect(await readAll('t')).toEqual(model)
    await expectCounters('t', model)
  })

  it('finds offsets by timestamp across rows as the model does', async () => {
    const next = mulberry32(3)
    await log.createTopic('t')
    const model = await fill('t', 3, 1000, next)
    for (let i = 0; i < 100; i++) {
      const t = 1_000_000 - 100 + Math.floor(next() * (model.length * 10 + 200))
      const expected = model.find((r) => r.timestamp >= t)?.offset ?? null
      expect(await log.offsetForTimestamp('t', 0, t)).toBe(expected)
    }
  })

  it('compacts across rows, keeping exactly the latest record per key, through a reopen', async () => {
    const next = mulberry32(4)
    await log.createTopic('c', { cleanupPolicy: 'compact' })
    const model = await fill('c', 4, 1500, next, 700)
    await log.enforceRetention(0) // tombstones are younger than tombstoneRetentionMs at time 0: all stay
    const latest = new Map<string, ModelRecord>()
    for (const r of model) latest.set(r.key as string, r)
    let expected = [...latest.values()].sort((a, b) => a.offset - b.offset)
    expect(await readAll('c')).toEqual(expected)
    await expectCounters('c', expected)

    await log.close()
    log = await createEmbeddedTopicLog({ dir, retentionCheckIntervalMs: 0, tombstoneRetentionMs: 1000 })
    await log.enforceRetention(10_000_000_000) // every tombstone has expired
    expected = expected.filter((r) => r.value !== null)
    expect(await readAll('c')).toEqual(expected)
    await expectCounters('c', expected)
  })
})
