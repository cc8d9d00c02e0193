import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestSluice, startTestSluice } from '../harness/sluice.js'
import { waitFor } from '../harness/wait-for.js'
import { appendJson, createTopic } from '../harness/topics.js'

describe('consumer groups API: list, describe, reset offsets, delete', () => {
  let t: TestSluice
  const admin = () => t.tokens.admin
  const call = (method: string, path: string, body?: unknown) => t.request(method, path, { token: admin(), body })
  const committed = async (group: string) =>
    Object.fromEntries((await call('GET', `/consumer-groups/${group}`)).body.offsets.map((o: any) => [`${o.topic}/${o.partition}`, o.committed_offset]))

  beforeAll(async () => {
    t = await startTestSluice()
    await createTopic(t, 'cg.orders', { num_partitions: 2 })
    // Partition p, record i: timestamp 10_000 + 1000 * i.
    await appendJson(t, 'cg.orders', Array.from({ length: 20 }, (_, n) => ({ value: { n }, partition: n % 2, timestamp: 10_000 + 1000 * Math.floor(n / 2) })))
  })
  afterAll(async () => t?.stop())

  it('lists and describes a group with committed offsets and lag', async () => {
    await t.sluice.log.commitOffsets('cg.reader', [{ topic: 'cg.orders', partition: 0, offset: 4 }, { topic: 'cg.orders', partition: 1, offset: 10 }])
    const list = await t.request('GET', '/consumer-groups', { token: t.tokens.readOnly })
    expect(list.status).toBe(200)
    expect(list.body).toMatchObject({ page: 1, total: expect.any(Number) })
    const group = list.body.result.find((g: any) => g.group_id === 'cg.reader')
    expect(group).toMatchObject({
      state: 'Empty',
      members: [],
      lag: 6,
      offsets: [
        { topic: 'cg.orders', partition: 0, committed_offset: 4, latest_offset: 10, lag: 6 },
        { topic: 'cg.orders', partition: 1, committed_offset: 10, latest_offset: 10, lag: 0 },
      ],
    })
    expect((await t.request('GET', '/consumer-groups/cg.reader', { token: t.tokens.readOnly })).body).toEqual(group)
    expect((await call('GET', '/consumer-groups/cg.unknown')).status).toBe(404)
  })

  it('resets offsets with each strategy', async () => {
    const reset = (body: object) => call('POST', '/consumer-groups/cg.reset/reset-offsets', { topics: ['cg.orders'], ...body })
    expect((await reset({ strategy: 'latest' })).body.offsets).toEqual([
      { topic: 'cg.orders', partition: 0, offset: 10 },
      { topic: 'cg.orders', partition: 1, offset: 10 },
    ])
    expect(await committed('cg.reset')).toEqual({ 'cg.orders/0': 10, 'cg.orders/1': 10 })
    await reset({ strategy: 'earliest' })
    expect(await committed('cg.reset')).toEqual({ 'cg.orders/0': 0, 'cg.orders/1': 0 })
    await reset({ strategy: 'timestamp', timestamp: 13_500 })
    expect(await committed('cg.reset')).toEqual({ 'cg.orders/0': 4, 'cg.orders/1': 4 })
    await reset({ strategy: 'timestamp', timestamp: 99_999 })
    expect(await committed('cg.reset')).toEqual({ 'cg.orders/0': 10, 'cg.orders/1': 10 })
    await reset({ strategy: 'offset', offset: 7 })
    expect(await committed('cg.reset')).toEqual({ 'cg.orders/0': 7, 'cg.orders/1': 7 })
    // Clamped into the stored range, as Kafka does.
    await reset({ strategy: 'offset', offset: 500 })
    expect(await committed('cg.reset')).toEqual({ 'cg.orders/0': 10, 'cg.orders/1': 10 })

    // A fetch after a reset starts where the reset put the group.
    await reset({ strategy: 'offset', offset: 8 })
    const fetched = await call('POST', '/consumer-groups/cg.reset/fetch', { topics: ['cg.orders'], max_wait_ms: 0, session_timeout_ms: 200 })
    expect(fetched.body.records.map((r: any) => r.value.n).sort((a: number, b: number) => a - b)).toEqual([16, 17, 18, 19])
  })

  it('refuses bad reset requests with 422', async () => {
    const bad = [
      [{ topics: ['cg.orders'], strategy: 'newest' }, ['body', 'strategy']],
      [{ topics: ['cg.orders'], strategy: 'timestamp' }, ['body', 'timestamp']],
      [{ topics: ['cg.orders'], strategy: 'offset' }, ['body', 'offset']],
      [{ topics: [], strategy: 'latest' }, ['body', 'topics']],
      [{ topics: ['cg.none'], strategy: 'latest' }, ['body', 'topics', 0]],
    ] as const
    for (const [body, loc] of bad) {
      const res = await call('POST', '/consumer-groups/cg.bad/reset-offsets', body)
      expect(res.status, JSON.stringify(body)).toBe(422)
      expect(res.body.detail[0].loc).toEqual(loc)
    }
  })

  it('refuses reset and delete with 409 while the group has active members, and allows them once it is empty', async () => {
    const fetched = await call('POST', '/consumer-groups/cg.busy/fetch', { topics: ['cg.orders'], max_records: 1, max_wait_ms: 0, session_timeout_ms: 60_000 })
    expect(fetched.status).toBe(200)
    const member = fetched.body.member_id
    const described = await call('GET', '/consumer-groups/cg.busy')
    expect(described.body).toMatchObject({ state: 'Stable', members: [{ member_id: member, topics: ['cg.orders'], in_flight_records: 1 }] })
    expect(described.body.members[0].assignments).toEqual([{ topic: 'cg.orders', partition: 0 }, { topic: 'cg.orders', partition: 1 }])

    const refused = await call('POST', '/consumer-groups/cg.busy/reset-offsets', { topics: ['cg.orders'], strategy: 'earliest' })
    expect(refused.status).toBe(409)
    expect(refused.body.detail).toMatch(/active members/)
    expect((await call('DELETE', '/consumer-groups/cg.busy')).status).toBe(409)

    expect((await call('POST', '/consumer-groups/cg.busy/leave', { member_id: member })).status).toBe(200)
    expect((await call('POST', '/consumer-groups/cg.busy/leave', { member_id: member })).status).toBe(404)
    expect((await call('POST', '/consumer-groups/cg.busy/reset-offsets', { topics: ['cg.orders'], strategy: 'latest' })).status).toBe(200)
    expect((await call('DELETE', '/consumer-groups/cg.busy')).status).toBe(200)
    expect((await call('GET', '/consumer-groups/cg.busy')).status).toBe(404)
    expect((await call('DELETE', '/consumer-groups/cg.busy')).status).toBe(404)
  })

  it('lets a member whose session ended go, so a reset is allowed again', async () => {
    await call('POST', '/consumer-groups/cg.session/fetch', { topics: ['cg.orders'], max_wait_ms: 0, session_timeout_ms: 150 })
    expect((await call('POST', '/consumer-groups/cg.session/reset-offsets', { topics: ['cg.orders'], strategy: 'earliest' })).status).toBe(409)
    await waitFor(
      async () => (await call('POST', '/consumer-groups/cg.session/reset-offsets', { topics: ['cg.orders'], strategy: 'earliest' })).status,
      (status) => status === 200,
      { timeoutMs: 10_000, message: 'reset allowed once the session expired' },
    )
    expect((await call('GET', '/consumer-groups/cg.session')).body.state).toBe('Empty')
  })
})
