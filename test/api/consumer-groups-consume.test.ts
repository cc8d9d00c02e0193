import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestSluice, startTestSluice } from '../harness/sluice.js'
import { waitFor } from '../harness/wait-for.js'
import { appendJson, createTopic } from '../harness/topics.js'

describe('consumer groups API: consuming over HTTP', () => {
  let t: TestSluice
  const call = (method: string, path: string, body?: unknown) => t.request(method, path, { token: t.tokens.dataAdmin, body })
  const fetchAs = (group: string, body: Record<string, unknown>) => call('POST', `/consumer-groups/${group}/fetch`, body)

  beforeAll(async () => {
    t = await startTestSluice()
  })
  afterAll(async () => t?.stop())

  it('splits partitions between two concurrent members: disjoint records and, between them, every record', async () => {
    const total = 400
    await createTopic(t, 'consume.split', { num_partitions: 4 })
    await appendJson(t, 'consume.split', Array.from({ length: total }, (_, n) => ({ value: { n }, partition: n % 4 })))
    const received = new Map<number, string>()
    const counts = { a: 0, b: 0 }
    const duplicates: number[] = []

    async function consumer(name: 'a' | 'b'): Promise<string> {
      let memberId: string | undefined
      while (received.size < total) {
        const res = await fetchAs('consume.split', { member_id: memberId, topics: ['consume.split'], max_records: 25, max_wait_ms: 100, visibility_timeout_ms: 60_000, session_timeout_ms: 10_000 })
        expect(res.status, JSON.stringify(res.body)).toBe(200)
        memberId = res.body.member_id
        for (const r of res.body.records) {
          if (received.has(r.value.n)) duplicates.push(r.value.n)
          received.set(r.value.n, name)
          counts[name]++
        }
        if (res.body.records.length > 0) {
          const commit = await call('POST', '/consumer-groups/consume.split/commit', { member_id: memberId, offsets: res.body.next_offsets })
          expect(commit.status, JSON.stringify(commit.body)).toBe(200)
        }
      }
      return memberId as string
    }

    const [a, b] = await Promise.all([consumer('a'), consumer('b')])
    expect(duplicates).toEqual([])
    expect([...received.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: total }, (_, n) => n))
    expect(counts.a).toBeGreaterThan(0)
    expect(counts.b).toBeGreaterThan(0)

    const group = (await call('GET', '/consumer-groups/consume.split')).body
    expect(group).toMatchObject({ state: 'Stable', lag: 0 })
    const assigned = group.members.flatMap((m: any) => m.assignments.map((x: any) => x.partition))
    expect(assigned.sort()).toEqual([0, 1, 2, 3])
    expect(group.members.map((m: any) => m.member_id).sort()).toEqual([a, b].sort())
    expect(group.members.every((m: any) => m.assignments.length === 2)).toBe(true)
  })

  it('makes a joining member wait for partitions another member still holds uncommitted', async () => {
    await createTopic(t, 'consume.handover', { num_partitions: 2 })
    await appendJson(t, 'consume.handover', Array.from({ length: 20 }, (_, n) => ({ value: { n }, partition: n % 2 })))
    const body = { topics: ['consume.handover'], max_records: 100, max_wait_ms: 0, visibility_timeout_ms: 60_000, session_timeout_ms: 60_000 }
    const a = await fetchAs('consume.handover', body)
    expect(a.body.records).toHaveLength(20)
    await appendJson(t, 'consume.handover', [{ value: { n: 20 }, partition: 1 }, { value: { n: 21 }, partition: 0 }])
    // b joins and is assigned partition 1, but a still holds records of it: b gets nothing from it yet.
    const b = await fetchAs('consume.handover', body)
    expect(b.body.assignments).toEqual([{ topic: 'consume.handover', partition: 1 }])
    expect(b.body.records).toEqual([])
    // Once a commits them, partition 1 passes to b, which continues after the commit.
    const commit = await call('POST', '/consumer-groups/consume.handover/commit', { member_id: a.body.member_id, offsets: [{ topic: 'consume.handover', partition: 1, offset: 10 }] })
    expect(commit.status).toBe(200)
    const b2 = await fetchAs('consume.handover', { ...body, member_id: b.body.member_id })
    expect(b2.body.records.map((r: any) => [r.partition, r.offset])).toEqual([[1, 10]])
    const a2 = await fetchAs('consume.handover', { ...body, member_id: a.body.member_id })
    expect(a2.body.records.map((r: any) => [r.partition, r.offset])).toEqual([[0, 10]])
  })

  it('hands records out again when a member dies without committing', async () => {
    await createTopic(t, 'consume.dead', { num_partitions: 2 })
    await appendJson(t, 'consume.dead', Array.from({ length: 10 }, (_, n) => ({ value: { n }, partition: n % 2 })))
    const dying = await fetchAs('consume.dead', { topics: ['consume.dead'], max_records: 100, max_wait_ms: 0, visibility_timeout_ms: 300, session_timeout_ms: 400 })
    expect(dying.body.records).toHaveLength(10)
    // The dying member never commits and never fetches again. A second member polls until it gets them all.
    let survivor: string | undefined
    const redelivered = new Set<number>()
    await waitFor(
      async () => {
        const res = await fetchAs('consume.dead', { member_id: survivor, topics: ['consume.dead'], max_records: 100, max_wait_ms: 200, visibility_timeout_ms: 60_000, session_timeout_ms: 60_000 })
        survivor = res.body.member_id
        for (const r of res.body.records) redelivered.add(r.value.n)
        return redelivered.size
      },
      (size) => size === 10,
      { timeoutMs: 20_000, message: 'records re-delivered to the surviving member' },
    )
    const next = new Map<number, number>([[0, 5], [1, 5]])
    const offsets = [...next].map(([partition, offset]) => ({ topic: 'consume.dead', partition, offset }))
    // The dead member lost its records: its late commit is refused; the survivor's goes through.
    const stale = await call('POST', '/consumer-groups/consume.dead/commit', { member_id: dying.body.member_id, offsets })
    expect(stale.status).toBe(409)
    expect((await call('POST', '/consumer-groups/consume.dead/commit', { member_id: survivor, offsets })).status).toBe(200)
    expect((await call('GET', '/consumer-groups/consume.dead')).body.lag).toBe(0)
  })

  it('re-delivers to the same member after its visibility timeout, and not before', async () => {
    await createTopic(t, 'consume.visible')
    await appendJson(t, 'consume.visible', Array.from({ length: 3 }, (_, n) => ({ value: { n } })))
    const body = { topics: ['consume.visible'], max_wait_ms: 0, visibility_timeout_ms: 1000, session_timeout_ms: 60_000 }
    const first = await fetchAs('consume.visible', body)
    expect(first.body.records.map((r: any) => r.offset)).toEqual([0, 1, 2])
    const member = first.body.member_id
    // Still leased: nothing comes back yet.
    expect((await fetchAs('consume.visible', { ...body, member_id: member })).body.records).toEqual([])
    const again = await waitFor(
      async () => (await fetchAs('consume.visible', { ...body, member_id: member })).body.records.map((r: any) => r.offset),
      (offsets: number[]) => offsets.length > 0,
      { timeoutMs: 10_000, message: 're-delivery after the visibility timeout' },
    )
    expect(again).toEqual([0, 1, 2])
    // Committing part of them leaves only the rest to come back.
    await call('POST', '/consumer-groups/consume.visible/commit', { member_id: member, offsets: [{ topic: 'consume.visible', partition: 0, offset: 2 }] })
    const rest = await waitFor(
      async () => (await fetchAs('consume.visible', { ...body, member_id: member })).body.records.map((r: any) => r.offset),
      (offsets: number[]) => offsets.length > 0,
      { timeoutMs: 10_000, message: 'the uncommitted remainder re-delivered' },
    )
    expect(rest).toEqual([2])
  })

  it('long-polls until a record is appended', async () => {
    await createTopic(t, 'consume.poll')
    const pending = fetchAs('consume.poll', { topics: ['consume.poll'], max_wait_ms: 30_000 })
    await waitFor(async () => (await call('GET', '/consumer-groups/consume.poll')).status, (s) => s === 200, { message: 'member joined' })
    await appendJson(t, 'consume.poll', [{ value: { hello: 'world' } }])
    const res = await pending
    expect(res.body.records.map((r: any) => r.value)).toEqual([{ hello: 'world' }])
    expect(res.body.next_offsets).toEqual([{ topic: 'consume.poll', partition: 0, offset: 1 }])
  })

  it('validates fetch and commit requests', async () => {
    await createTopic(t, 'consume.valid')
    expect((await fetchAs('consume.valid', { topics: [] })).status).toBe(422)
    expect((await fetchAs('consume.valid', { topics: ['consume.nope'] })).status).toBe(422)
    expect((await fetchAs('consume.valid', { topics: ['consume.valid'], max_wait_ms: -1 })).status).toBe(422)
    expect((await call('POST', '/consumer-groups/consume.valid/commit', { offsets: [{ topic: 'consume.valid', partition: 0, offset: -1 }] })).status).toBe(422)
    const badPartition = await call('POST', '/consumer-groups/consume.valid/commit', { offsets: [{ topic: 'consume.valid', partition: 3, offset: 0 }] })
    expect(badPartition.status).toBe(422)
    expect(badPartition.body.detail[0].loc).toEqual(['body', 'offsets', 0, 'partition'])
    const ro = await t.request('POST', '/consumer-groups/consume.valid/fetch', { token: t.tokens.readOnly, body: { topics: ['consume.valid'] } })
    expect(ro.status).toBe(403)
    // Without members, a plain commit (no member_id) sets the group's offset.
    await appendJson(t, 'consume.valid', [{ value: 1 }, { value: 2 }])
    expect((await call('POST', '/consumer-groups/consume.valid-admin/commit', { offsets: [{ topic: 'consume.valid', partition: 0, offset: 1 }] })).status).toBe(200)
    expect((await call('GET', '/consumer-groups/consume.valid-admin')).body.offsets[0]).toMatchObject({ committed_offset: 1, lag: 1 })
  })
})
