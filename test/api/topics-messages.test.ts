import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestSluice, startTestSluice } from '../harness/sluice.js'
import { appendJson, createTopic } from '../harness/topics.js'

/** 2 partitions × 30 records; record n has timestamp 1000 + n and lands in partition n % 2. */
const N = 60

describe('topics API: browsing messages', () => {
  let t: TestSluice
  const get = async (path: string) => {
    const res = await t.request('GET', path, { token: t.tokens.readOnly })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    return res.body
  }
  const ns = (body: any) => body.result.map((m: any) => m.value.n)

  beforeAll(async () => {
    t = await startTestSluice()
    await createTopic(t, 'browse.orders', { num_partitions: 2 })
    await appendJson(t, 'browse.orders', Array.from({ length: N }, (_, n) => ({
      key: { id: n % 10 },
      value: { n, op: n % 3 === 0 ? 'd' : 'c', after: { id: n % 10, note: `item-${n}` } },
      partition: n % 2,
      timestamp: 1000 + n,
    })))
    await t.sluice.log.createTopic('browse.text')
    await t.sluice.log.append([{ topic: 'browse.text', key: Buffer.from('k'), value: Buffer.from('plain text') }, { topic: 'browse.text', key: null, value: null }])
  })
  afterAll(async () => t?.stop())

  it('reads one partition from an offset with next_offset (the original browser)', async () => {
    const body = await get('/topics/browse.orders/messages?partition=1&offset=3&limit=2')
    expect(body.result.map((m: any) => [m.partition, m.offset])).toEqual([[1, 3], [1, 4]])
    expect(body.result[0]).toMatchObject({ topic: 'browse.orders', timestamp: 1007, key: { id: 7 }, headers: {} })
    expect(body.next_offset).toBe(5)
    expect((await get('/topics/browse.orders/messages?partition=1&offset=30')).next_offset).toBeNull()
  })

  it('shows JSON as JSON and anything else as text', async () => {
    const body = await get('/topics/browse.text/messages')
    expect(body.result.map((m: any) => [m.key, m.value])).toEqual([['k', 'plain text'], [null, null]])
  })

  it('merges partitions by timestamp, oldest first and newest first', async () => {
    expect(ns(await get('/topics/browse.orders/messages?limit=5'))).toEqual([0, 1, 2, 3, 4])
    expect(ns(await get('/topics/browse.orders/messages?limit=5&sort_dir=desc'))).toEqual([59, 58, 57, 56, 55])
    expect(ns(await get('/topics/browse.orders/messages?limit=3&sort_dir=desc&partition=0'))).toEqual([58, 56, 54])
    expect(ns(await get('/topics/browse.orders/messages?limit=3&sort_dir=desc&partition=0&offset=5'))).toEqual([10, 8, 6])
  })

  it('pages forward with last_seen_offsets and backward with first_seen_offsets, missing nothing', async () => {
    for (const dir of ['asc', 'desc'] as const) {
      const seen: number[] = []
      let cursor = ''
      for (let pages = 0; pages < 20; pages++) {
        const body = await get(`/topics/browse.orders/messages?limit=7&sort_dir=${dir}${cursor}`)
        seen.push(...ns(body))
        if (!body.has_more) break
        const name = dir === 'asc' ? 'last_seen_offsets' : 'first_seen_offsets'
        cursor = `&${name}=${encodeURIComponent(JSON.stringify(body[name]))}`
      }
      const all = Array.from({ length: N }, (_, n) => n)
      expect(seen).toEqual(dir === 'asc' ? all : all.reverse())
    }
    // The compact form of a cursor: partition 0 seen up to offset 27 (n=54), partition 1 up to 28 (n=57).
    expect(ns(await get('/topics/browse.orders/messages?last_seen_offsets=0:27,1:28'))).toEqual([56, 58, 59])
  })

  it('filters by substring and by JSON path equality, paging through what it scans', async () => {
    expect(ns(await get('/topics/browse.orders/messages?value_filter=item-1&limit=100'))).toEqual([1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19])
    expect(ns(await get(`/topics/browse.orders/messages?value_filter=${encodeURIComponent('$.after.id=3')}&limit=100`))).toEqual([3, 13, 23, 33, 43, 53])
    expect(ns(await get(`/topics/browse.orders/messages?key_filter=${encodeURIComponent('$.id=4')}&value_filter=${encodeURIComponent('$.op=d')}&sort_dir=desc`))).toEqual([54, 24])
    // A selective filter with a small page: the cursor moves past scanned records that did not match.
    const first = await get(`/topics/browse.orders/messages?value_filter=${encodeURIComponent('$.op=d')}&limit=2`)
    expect(ns(first)).toEqual([0, 3])
    const next = await get(`/topics/browse.orders/messages?value_filter=${encodeURIComponent('$.op=d')}&limit=2&last_seen_offsets=${encodeURIComponent(JSON.stringify(first.last_seen_offsets))}`)
    expect(ns(next)).toEqual([6, 9])
  })

  it('answers 422 for bad parameters and 404 for an unknown topic', async () => {
    for (const q of ['partition=2', 'partition=-1', 'sort_dir=up', 'limit=0', 'last_seen_offsets=zero', 'last_seen_offsets=0:x', 'value_filter=']) {
      const res = await t.request('GET', `/topics/browse.orders/messages?${q}`, { token: t.tokens.readOnly })
      expect(res.status, q).toBe(422)
      expect(res.body.detail[0].loc[0], q).toBe('query')
    }
    expect((await t.request('GET', '/topics/browse.none/messages', { token: t.tokens.readOnly })).status).toBe(404)
  })
})
