import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestSluice, startTestSluice } from '../harness/sluice.js'
import { appendJson, createTopic } from '../harness/topics.js'

describe('topics API: retention, compaction and offsets for a timestamp', () => {
  let t: TestSluice
  const admin = () => t.tokens.admin
  const topic = async (name: string) => (await t.request('GET', `/topics/${name}`, { token: admin() })).body
  const values = async (name: string) => {
    const res = await t.request('GET', `/topics/${name}/messages?limit=1000`, { token: admin() })
    expect(res.status).toBe(200)
    return res.body.result as any[]
  }

  beforeAll(async () => {
    t = await startTestSluice()
  })
  afterAll(async () => t?.stop())

  it('deletes records older than retention_ms, set through the API', async () => {
    await createTopic(t, 'ret.time', { retention_ms: -1 })
    const now = Date.now()
    await appendJson(t, 'ret.time', [
      ...Array.from({ length: 5 }, (_, i) => ({ value: { old: i }, timestamp: now - 3_600_000 })),
      ...Array.from({ length: 3 }, (_, i) => ({ value: { fresh: i }, timestamp: now })),
    ])
    await t.sluice.log.enforceRetention()
    expect((await topic('ret.time')).records).toBe(8)

    const put = await t.request('PUT', '/topics/ret.time', { token: admin(), body: { payload: { retention_ms: 60_000 } } })
    expect(put.status).toBe(200)
    await t.sluice.log.enforceRetention()
    const after = await topic('ret.time')
    expect(after.partitions[0]).toEqual({ partition: 0, earliest_offset: 5, latest_offset: 8 })
    expect(after.records).toBe(3)
    expect((await values('ret.time')).map((m) => m.value)).toEqual([{ fresh: 0 }, { fresh: 1 }, { fresh: 2 }])
  })

  it('deletes the oldest records beyond retention_bytes', async () => {
    await createTopic(t, 'ret.bytes', { retention_ms: -1, retention_bytes: 2000 })
    await appendJson(t, 'ret.bytes', Array.from({ length: 100 }, (_, i) => ({ value: { i, pad: 'x'.repeat(80) } })))
    const before = await topic('ret.bytes')
    expect(before.bytes).toBeGreaterThan(2000)
    await t.sluice.log.enforceRetention()
    const after = await topic('ret.bytes')
    expect(after.bytes).toBeLessThanOrEqual(2000)
    expect(after.partitions[0].earliest_offset).toBeGreaterThan(0)
    expect(after.partitions[0].latest_offset).toBe(100)
    const kept = await values('ret.bytes')
    // A prefix went: what is left is the newest records, in order, ending with the last one.
    expect(kept.at(-1).value.i).toBe(99)
    expect(kept.map((m) => m.value.i)).toEqual(Array.from({ length: kept.length }, (_, k) => 100 - kept.length + k))
  })

  it('compaction keeps the latest record per key and never loses the latest value', async () => {
    await createTopic(t, 'ret.compact', { cleanup_policy: 'compact', num_partitions: 2 })
    const rounds = 5
    for (let round = 0; round < rounds; round++) {
      await appendJson(t, 'ret.compact', Array.from({ length: 20 }, (_, k) => ({ key: { id: k }, value: { id: k, round } })))
      // Compaction between appends: each pass sees only the new (dirty) records.
      await t.sluice.log.enforceRetention()
    }
    const res = await t.request('GET', '/topics/ret.compact/messages?limit=1000', { token: admin() })
    const latest = new Map<number, number>()
    for (const m of res.body.result) latest.set(m.key.id, Math.max(latest.get(m.key.id) ?? -1, m.value.round))
    expect(latest.size).toBe(20)
    for (const round of latest.values()) expect(round).toBe(rounds - 1)
    expect(res.body.result.length).toBe(20)
    const configs = (await topic('ret.compact')).kafka.configs
    expect(configs['cleanup.policy']).toBe('compact')
  })

  it('finds offsets for a timestamp in each direction', async () => {
    await createTopic(t, 'ret.ts')
    await appendJson(t, 'ret.ts', [1000, 2000, 3000, 4000].map((ts, i) => ({ value: { i }, timestamp: ts })))
    const from = await t.request('GET', '/topics/ret.ts/messages?timestamp=2500', { token: admin() })
    expect(from.body.result.map((m: any) => m.offset)).toEqual([2, 3])
    const exact = await t.request('GET', '/topics/ret.ts/messages?timestamp=2000&limit=1', { token: admin() })
    expect(exact.body.result.map((m: any) => m.offset)).toEqual([1])
    const back = await t.request('GET', '/topics/ret.ts/messages?timestamp=2500&sort_dir=desc', { token: admin() })
    expect(back.body.result.map((m: any) => m.offset)).toEqual([1, 0])
    const none = await t.request('GET', '/topics/ret.ts/messages?timestamp=9999', { token: admin() })
    expect(none.body.result).toEqual([])
  })
})
