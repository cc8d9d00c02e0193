import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { GroupNotFoundError, InvalidLogRequestError, LogClosedError, TopicExistsError, TopicNotFoundError }
  from '../log-errors.js'
import { partitionForKey } from '../partitioner.js'
import { DEFAULT_TOPIC_CONFIG } from '../topic-config.js'
import { PackedView, RecordBatch } from '../record-batch.js'
import type { AppendRecord, TopicLog } from '../topic-log.js'
import { createThreadedTopicLog } from '../threaded/threaded-topic-log.js'
import { createEmbeddedTopicLog, type EmbeddedTopicLogOptions } from './embedded-topic-log.js'

// The same contract on the main thread (embedded) and on a worker thread (threaded, what Sluice runs).
const implementations: Array<[string, (options: EmbeddedTopicLogOptions) => Promise<TopicLog>]> = [
  ['embedded', createEmbeddedTopicLog],
  ['threaded', createThreadedTopicLog],
]

describe.each(implementations)('%s', (kind, create) => {
  let dir: string
  let log: TopicLog

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-log-'))
    log = await create({ dir, retentionCheckIntervalMs: 0 })
  })

  afterEach(async () => {
    await log.close()
    rmSync(dir, { recursive: true, force: true })
  })

  async function reopen(): Promise<void> {
    await log.close()
    log = await create({ dir, retentionCheckIntervalMs: 0 })
  }

  const rec = (topic: string, key: string | null, value: string | null, extra: Partial<AppendRecord> = {}):
    AppendRecord => ({
    topic,
    key: key === null ? null : Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
    ...extra,
  })

  describe(`${kind} topic log: topics`, () => {
    it('creates with Kafka defaults, lists, gets, and treats a same-partition re-create as a no-op', async () => {
      const info = await log.createTopic('orders')
      expect(info).toMatchObject({ name: 'orders', ...DEFAULT_TOPIC_CONFIG })
      expect(info.retentionMs).toBe(7 * 24 * 3600 * 1000)
      expect(info.retentionBytes).toBe(-1)
      await log.createTopic('accounts', { partitions: 3, cleanupPolicy: 'compact' })
      expect((await log.listTopics()).map((t) => t.name)).toEqual(['accounts', 'orders'])
      expect(await log.getTopic('accounts')).toMatchObject({ partitions: 3, cleanupPolicy: 'compact' })
      expect(await log.getTopic('missing')).toBeUndefined()
      expect(await log.createTopic('orders')).toEqual(info)
      await expect(log.createTopic('orders', { partitions: 2 })).rejects.toBeInstanceOf(TopicExistsError)
    })

    it('rejects invalid names and configs', async () => {
      await expect(log.createTopic('bad name')).rejects.toBeInstanceOf(InvalidLogRequestError)
      await expect(log.createTopic('..')).rejects.toBeInstanceOf(InvalidLogRequestError)
      await expect(log.createTopic('t', { partitions: 0 })).rejects.toBeInstanceOf(InvalidLogRequestError)
      await expect(log.createTopic('t', { retentionMs: -2 })).rejects.toBeInstanceOf(InvalidLogRequestError)
      expect(await log.listTopics()).toEqual([])
    })

    it('updates config; partitions may only grow and new partitions take records', async () => {
      await log.createTopic('t', { partitions: 2 })
      await expect(log.updateTopic('t', { partitions: 1 })).rejects.toBeInstanceOf(InvalidLogRequestError)
      const updated = await log.updateTopic('t', { partitions: 4, retentionMs: 1000 })
      expect(updated).toMatchObject({ partitions: 4, retentionMs: 1000 })
      await log.append([rec('t', null, 'v', { partition: 3 })])
      expect(await log.offsets('t', 3)).toEqual({ earliest: 0, latest: 1 })
      await reopen()
      expect(await log.getTopic('t')).toMatchObject({ partitions: 4, retentionMs: 1000 })
      await expect(log.updateTopic('missing', {})).rejects.toBeInstanceOf(TopicNotFoundError)
    })

    it('deletes a topic, its records and its committed offsets; a re-created topic starts at offset 0', async () => {
      await log.createTopic('t')
      await log.append([rec('t', null, 'a'), rec('t', null, 'b')])
      await log.commitOffsets('g', [{ topic: 't', partition: 0, offset: 2 }])
      await log.deleteTopic('t')
      expect(await log.getTopic('t')).toBeUndefined()
      await expect(log.read('t', 0, 0)).rejects.toBeInstanceOf(TopicNotFoundError)
      await expect(log.append([rec('t', null, 'c')])).rejects.toBeInstanceOf(TopicNotFoundError)
      expect(await log.committedOffsets('g')).toEqual([])
      await log.enforceRetention()
      await log.createTopic('t')
      expect(await log.offsets('t', 0)).toEqual({ earliest: 0, latest: 0 })
      expect(await log.read('t', 0, 0)).toEqual([])
      await expect(log.deleteTopic('nope')).rejects.toBeInstanceOf(TopicNotFoundError)
    })
  })

  describe(`${kind} topic log: append and read`, () => {
    it('assigns contiguous offsets and round-trips timestamp, key, value and headers', async () => {
      await log.createTopic('t')
      const results = await log.append([
        rec('t', 'k1', 'v1', { timestamp: 1000, headers: { op: 'c', 'x-id': 'é' } }),
        rec('t', null, null, { timestamp: 1001 }),
      ])
      expect(results).toEqual([
        { topic: 't', partition: 0, offset: 0 },
        { topic: 't', partition: 0, offset: 1 },
      ])
      expect(await log.append([rec('t', 'k2', '')])).toEqual([{ topic: 't', partition: 0, offset: 2 }])
      const records = await log.read('t', 0, 0)
      expect(records).toHaveLength(3)
      expect(records[0]).toEqual({ topic: 't', partition: 0, offset: 0, timestamp: 1000, key: Buffer.from('k1'),
        value: Buffer.from('v1'), headers: { op: 'c', 'x-id': 'é' } })
      expect(records[1]).toMatchObject({ offset: 1, key: null, value: null, headers: {} })
      expect(records[2].value).toEqual(Buffer.alloc(0))
      expect(Math.abs(records[2].timestamp - Date.now())).toBeLessThan(60_000)
      expect(await log.read('t', 0, 3)).toEqual([])
      expect((await log.read('t', 0, 1)).map((r) => r.offset)).toEqual([1, 2])
    })

    it('writes appends made without waiting in the order they were made, each failing alone', async () => {
      await log.createTopic('t')
      // Made together: the threaded log's worker finds them waiting and writes them with one commit.
      const [first, second, third, fourth] = await Promise.allSettled([
        log.append([rec('t', 'a', '1'), rec('t', 'b', '2')]),
        log.append([rec('missing', 'c', '3')]),
        log.append(RecordBatch.of([rec('t', 'd', '4')])),
        log.append([rec('t', 'e', '5', { headers: { op: 'c' } })]),
      ])
      expect(first).toEqual({ status: 'fulfilled', value: [{ topic: 't', partition: 0, offset: 0 }, { topic: 't', partition: 0, offset: 1 }] })
      expect(second.status).toBe('rejected')
      expect((second as PromiseRejectedResult).reason).toBeInstanceOf(TopicNotFoundError)
      expect(third).toEqual({ status: 'fulfilled', value: [{ topic: 't', partition: 0, offset: 2 }] })
      expect(fourth).toEqual({ status: 'fulfilled', value: [{ topic: 't', partition: 0, offset: 3 }] })
      const keys = async () => (await log.read('t', 0, 0)).map((r) => r.key?.toString())
      expect(await keys()).toEqual(['a', 'b', 'd', 'e'])
      await reopen()
      expect(await keys()).toEqual(['a', 'b', 'd', 'e'])
      expect(await log.append([rec('t', 'f', '6')])).toEqual([{ topic: 't', partition: 0, offset: 4 }])
    })

    it('gives each read record its own headers object', async () => {
      await log.createTopic('t')
      await log.append([1, 2].map(() => rec('t', null, 'v', { headers: { op: 'u' } })))
      const [first, second] = await log.read('t', 0, 0)
      first.headers.op = 'changed'
      expect(second.headers).toEqual({ op: 'u' })
      expect((await log.read('t', 0, 0))[0].headers).toEqual({ op: 'u' })
    })

    it('routes by Kafka murmur2 key hash across partitions, null keys to 0, explicit partitions win', async () => {
      await log.createTopic('t', { partitions: 5 })
      const keys = Array.from({ length: 50 }, (_, i) => `key-${i}`)
      const results = await log.append(keys.map((k) => rec('t', k, k)))
      for (const [i, k] of keys.entries()) expect(results[i].partition).toBe(partitionForKey(Buffer.from(k), 5))
      expect(new Set(results.map((r) => r.partition)).size).toBeGreaterThan(1)
      expect((await log.append([rec('t', null, 'x')]))[0].partition).toBe(0)
      expect((await log.append([rec('t', 'key-0', 'x', { partition: 4 })]))[0].partition).toBe(4)
      for (let p = 0; p < 5; p++) {
        const records = await log.read('t', p, 0, { maxRecords: 1000 })
        expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i))
        const stats = await log.stats('t', p)
        expect(stats.records).toBe(records.length)
      }
      await expect(log.append([rec('t', null, 'x', { partition: 5 })])).rejects.toBeInstanceOf(InvalidLogRequestError)
    })

    it('keeps offsets, records and stats across reopen and continues numbering', async () => {
      await log.createTopic('t', { partitions: 2 })
      await log.append([rec('t', null, 'a', { partition: 0 }), rec('t', null, 'b', { partition: 1 }),
        rec('t', null, 'c', { partition: 1 })])
      const statsBefore = await log.stats('t', 1)
      await reopen()
      expect(await log.offsets('t', 1)).toEqual({ earliest: 0, latest: 2 })
      expect(await log.stats('t', 1)).toEqual(statsBefore)
      expect(statsBefore).toEqual({ records: 2, bytes: 2 })
      const [next] = await log.append([rec('t', null, 'd', { partition: 1 })])
      expect(next).toEqual({ topic: 't', partition: 1, offset: 2 })
      expect((await log.read('t', 1, 0)).map((r) => r.value?.toString())).toEqual(['b', 'c', 'd'])
    })

    it('makes an append call atomic: one bad record rejects the whole call and nothing is written', async () => {
      await log.createTopic('t', { maxMessageBytes: 10 })
      await expect(log.append([rec('t', null, 'ok'), rec('t', null, 'x'.repeat(11))]))
        .rejects.toBeInstanceOf(InvalidLogRequestError)
      await expect(log.append([rec('t', null, 'ok'), rec('missing', null, 'x')]))
        .rejects.toBeInstanceOf(TopicNotFoundError)
      await expect(log.append([{ topic: 't', key: null, value: 'str' as unknown as Buffer }]))
        .rejects.toBeInstanceOf(InvalidLogRequestError)
      expect(await log.offsets('t', 0)).toEqual({ earliest: 0, latest: 0 })
      expect(await log.append([])).toEqual([])
    })

    it('checks records alike whether they come as an array or packed (a RecordBatch, or across threads)', async () => {
      await log.createTopic('t', { maxMessageBytes: 10, partitions: 2 })
      await log.createTopic('c', { cleanupPolicy: 'compact' })
      const frame = { prefix: Buffer.from('<'), suffix: Buffer.from('>') }
      const bad: AppendRecord[][] = [
        [rec('t', null, 'ok'), rec('t', null, 'x'.repeat(11))],
        [rec('t', null, 'ok'), rec('t', 'k', '1234567', { frame: { prefix: Buffer.from('<<'), suffix: Buffer.from('>') } })],
        [rec('t', null, 'ok'), rec('missing', null, 'x')],
        [rec('t', 'k', 'v', { partition: 2 })],
        [rec('t', 'k', 'v', { timestamp: 1.5 })],
        [rec('t', 'k', 'v'), rec('c', null, 'v')],
        [rec('t', 'k', null, { frame })],
      ]
      const failure = async (append: () => Promise<unknown>) => {
        try {
          await append()
          return null
        } catch (error) {
          const { name, message, field } = error as InvalidLogRequestError
          return { name, message, field }
        }
      }
      for (const records of bad) {
        const asArray = await failure(() => log.append(records))
        expect(asArray).not.toBeNull()
        expect(await failure(() => log.append(RecordBatch.of(records)))).toEqual(asArray)
      }
      for (const topic of ['t', 'c']) expect(await log.offsets(topic, 0)).toEqual({ earliest: 0, latest: 0 })
    })

    it('appends to several topics in one call', async () => {
      await log.createTopic('a')
      await log.createTopic('b')
      const results = await log.append([rec('a', null, '1'), rec('b', null, '2'), rec('a', null, '3')])
      expect(results.map((r) => `${r.topic}:${r.offset}`)).toEqual(['a:0', 'b:0', 'a:1'])
    })

    it('stores framed values and returns them whole from reads, packed reads, compaction and reopen', async () => {
      await log.createTopic('t', { maxMessageBytes: 60, retentionMs: -1 })
      await log.createTopic('c', { cleanupPolicy: 'compact' })
      const frame = { prefix: Buffer.from('{"after":'), suffix: Buffer.from(',"op":"r"}') }
      const other = { prefix: Buffer.from('['), suffix: Buffer.from(']') }
      const batch = new RecordBatch()
      for (let i = 0; i < 400; i++) {
        batch.writeRange(Buffer.from(`${i % 3}`), 0, 1)
        batch.endKey(false)
        batch.writeRange(Buffer.from(`{"n":${i}}`), 0, `{"n":${i}}`.length)
        batch.endRecord(i % 2 === 0 ? 't' : 'c', 1000 + i, i % 5 === 0 ? other : frame)
      }
      await log.append(batch)
      await log.append([rec('t', 'k', 'plain'), rec('t', 'k', '7', { frame })])
      const whole = (i: number) => (i % 5 === 0 ? `[{"n":${i}}]` : `{"after":{"n":${i}},"op":"r"}`)
      const expected = [...Array.from({ length: 200 }, (_, j) => whole(2 * j)), 'plain', '{"after":7,"op":"r"}']
      const values = async () => (await log.read('t', 0, 0, { maxRecords: 1000 })).map((r) => r.value?.toString())
      expect(await values()).toEqual(expected)
      const packed = new PackedView(await log.readPacked('t', 0, 0, { maxRecords: 1000 }))
      expect(Array.from({ length: packed.length }, (_, i) => packed.record(i).value?.toString())).toEqual(expected)
      expect((await log.stats('t', 0)).bytes).toBe(expected.reduce((n, v) => n + 1 + v.length, 0))
      // The frame counts toward a record's size: a 1-byte value in a 60-byte frame is over maxMessageBytes.
      const wide = { prefix: Buffer.alloc(30, 0x20), suffix: Buffer.alloc(30, 0x20) }
      await expect(log.append([rec('t', null, 'x', { frame: wide })])).rejects.toMatchObject({ field: 'records[0]' })
      await expect(log.append([rec('t', null, null, { frame })])).rejects.toMatchObject({ field: 'records[0].frame' })
      await expect(log.append([rec('t', null, 'x', { frame: { prefix: 'no' } as never })])).rejects.toBeInstanceOf(InvalidLogRequestError)
      expect((await log.offsets('t', 0)).latest).toBe(202)
      // Compaction rewrites rows: the latest record per key stays, whole.
      expect(await log.enforceRetention()).toEqual({ deletedRecords: 197 })
      await reopen()
      expect(await values()).toEqual(expected)
      const latest = new Map<string, string>()
      for (let i = 1; i < 400; i += 2) latest.set(`${i % 3}`, whole(i))
      const compacted = new Map((await log.read('c', 0, 0, { maxRecords: 1000 })).map((r) => [r.key?.toString() ?? '', r.value?.toString()]))
      expect(compacted).toEqual(latest)
    })

    it('limits reads by maxRecords and maxBytes, always returning at least one record', async () => {
      await log.createTopic('t')
      await log.append(Array.from({ length: 20 }, (_, i) => rec('t', null, 'x'.repeat(100), { timestamp: i })))
      expect(await log.read('t', 0, 0, { maxRecords: 7 })).toHaveLength(7)
      expect(await log.read('t', 0, 0, { maxBytes: 350 })).toHaveLength(3)
      expect(await log.read('t', 0, 5, { maxBytes: 1 })).toHaveLength(1)
      expect((await log.read('t', 0, 5, { maxBytes: 1 }))[0].offset).toBe(5)
      expect(await log.read('t', 0, 0, { maxRecords: 100, maxBytes: 10_000 })).toHaveLength(20)
      await expect(log.read('t', 0, -1)).rejects.toBeInstanceOf(InvalidLogRequestError)
      await expect(log.read('t', 0, 0, { maxRecords: 0 })).rejects.toBeInstanceOf(InvalidLogRequestError)
    })

    it('finds the earliest offset at or after a timestamp, even when timestamps go backwards', async () => {
      await log.createTopic('t')
      expect(await log.offsetForTimestamp('t', 0, 0)).toBeNull()
      await log.append([100, 200, 150].map((ts) => rec('t', null, 'v', { timestamp: ts })))
      await log.append([120, 300].map((ts) => rec('t', null, 'v', { timestamp: ts })))
      await log.append([250].map((ts) => rec('t', null, 'v', { timestamp: ts })))
      expect(await log.offsetForTimestamp('t', 0, 50)).toBe(0)
      expect(await log.offsetForTimestamp('t', 0, 100)).toBe(0)
      expect(await log.offsetForTimestamp('t', 0, 101)).toBe(1)
      expect(await log.offsetForTimestamp('t', 0, 201)).toBe(4)
      expect(await log.offsetForTimestamp('t', 0, 240)).toBe(4)
      expect(await log.offsetForTimestamp('t', 0, 300)).toBe(4)
      expect(await log.offsetForTimestamp('t', 0, 301)).toBeNull()
    })
  })

  describe(`${kind} topic log: consumer groups`, () => {
    it('commits, overwrites, lists and deletes group offsets, and survives reopen', async () => {
      await log.createTopic('t', { partitions: 2 })
      await log.commitOffsets('g1', [
        { topic: 't', partition: 0, offset: 5 },
        { topic: 't', partition: 1, offset: 2 },
      ])
      await log.commitOffsets('g1', [{ topic: 't', partition: 0, offset: 7 }])
      await log.commitOffsets('g2', [{ topic: 't', partition: 1, offset: 1 }])
      await reopen()
      expect(await log.committedOffsets('g1')).toEqual([
        { topic: 't', partition: 0, offset: 7 },
        { topic: 't', partition: 1, offset: 2 },
      ])
      expect(await log.listGroups()).toEqual(['g1', 'g2'])
      await log.deleteGroup('g1')
      expect(await log.listGroups()).toEqual(['g2'])
      expect(await log.committedOffsets('g1')).toEqual([])
      await expect(log.deleteGroup('g1')).rejects.toBeInstanceOf(GroupNotFoundError)
    })

    it('rejects commits for unknown topics or partitions and negative offsets, atomically', async () => {
      await log.createTopic('t')
      await expect(log.commitOffsets('g', [{ topic: 't', partition: 0, offset: 1 }, { topic: 'x', partition: 0,
        offset: 1 }])).rejects.toBeInstanceOf(TopicNotFoundError)
      await expect(log.commitOffsets('g', [{ topic: 't', partition: 1, offset: 1 }]))
        .rejects.toBeInstanceOf(InvalidLogRequestError)
      await expect(log.commitOffsets('g', [{ topic: 't', partition: 0, offset: -1 }]))
        .rejects.toBeInstanceOf(InvalidLogRequestError)
      expect(await log.listGroups()).toEqual([])
    })
  })

  describe(`${kind} topic log: waitForAppend and close`, () => {
    it('resolves a waiter on the next append to its topic, not on appends elsewhere', async () => {
      await log.createTopic('a')
      await log.createTopic('b')
      let resolved = false
      const waiting = log.waitForAppend('a', new AbortController().signal).then(() => {
        resolved = true
      })
      await log.append([rec('b', null, 'x')])
      await new Promise((r) => setImmediate(r))
      expect(resolved).toBe(false)
      await log.append([rec('a', null, 'x')])
      await waiting
      expect(resolved).toBe(true)
    })

    it('resolves a topic-change waiter on a topic creation or deletion, not on appends', async () => {
      await log.createTopic('a')
      let changes = 0
      const watch = () => log.waitForTopicChange(new AbortController().signal).then(() => void changes++)
      let waiting = watch()
      await log.append([rec('a', null, 'x')])
      await new Promise((r) => setImmediate(r))
      expect(changes).toBe(0)
      await log.createTopic('b')
      await waiting
      waiting = watch()
      await log.deleteTopic('b')
      await waiting
      expect(changes).toBe(2)
    })

    it('resolves on abort, immediately when already aborted, and on close', async () => {
      await log.createTopic('a')
      const controller = new AbortController()
      const waiting = log.waitForAppend('a', controller.signal)
      controller.abort()
      await waiting
      await log.waitForAppend('a', controller.signal)
      const pending = log.waitForAppend('a', new AbortController().signal)
      await log.close()
      await pending
      await expect(log.read('a', 0, 0)).rejects.toBeInstanceOf(LogClosedError)
      await expect(log.enforceRetention()).rejects.toBeInstanceOf(LogClosedError)
    })

    it('refuses a second open of the same directory while the first is open', async () => {
      await expect(create({ dir, retentionCheckIntervalMs: 0 })).rejects.toThrow(/in use/)
    })
  })
})

describe('embedded topic log: group commit', () => {
  it('puts the offsets back when a group does not commit, so the next append takes them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-log-'))
    const log = await createEmbeddedTopicLog({ dir, retentionCheckIntervalMs: 0, segmentMinBytes: 0 })
    try {
      await log.createTopic('t')
      const batch = (key: string) => RecordBatch.of([{ topic: 't', key: Buffer.from(key), value: Buffer.from(`value of ${key}`) }]).pack()
      expect((await log.appendPackedGroup([batch('a')]))[0]).not.toBeInstanceOf(Error)
      // A disk error at the group's sync, injected where the appender syncs the payloads (a private field: there is
      // no other way to make fdatasync fail here).
      const store = (log as unknown as { appender: { batches: { syncPayloads(): void } } }).appender.batches
      const sync = store.syncPayloads
      store.syncPayloads = () => {
        throw new Error('EIO: i/o error, fdatasync')
      }
      await expect(log.appendPackedGroup([batch('b'), batch('c')])).rejects.toThrow('EIO')
      store.syncPayloads = sync
      expect(await log.append([{ topic: 't', key: Buffer.from('d'), value: Buffer.from('value of d') }]))
        .toEqual([{ topic: 't', partition: 0, offset: 1 }])
      expect((await log.read('t', 0, 0)).map((r) => r.key?.toString())).toEqual(['a', 'd'])
      expect(await log.stats('t', 0)).toEqual({ records: 2, bytes: 2 * 'a'.length + 2 * 'value of a'.length })
    } finally {
      await log.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
