import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestSluice, startTestSluice } from '../harness/sluice.js'
import { appendJson, createTopic, readSse } from '../harness/topics.js'

describe('topics API: tailing a topic as Server-Sent Events', () => {
  let t: TestSluice

  beforeAll(async () => {
    t = await startTestSluice()
  })
  afterAll(async () => t?.stop())

  it('resumes with Last-Event-ID without missing or repeating a record, across partitions', async () => {
    await createTopic(t, 'sse.orders', { num_partitions: 3 })
    await appendJson(t, 'sse.orders', Array.from({ length: 30 }, (_, n) => ({ value: { n }, partition: n % 3 })))
    const first = await readSse(t, '/topics/sse.orders/stream?from=earliest', (e) => e.length >= 12)
    expect(first.every((e) => e.event === 'message')).toBe(true)
    const lastId = first[11].id as string
    expect(lastId).toMatch(/^0:\d+,1:\d+,2:\d+$/)

    // Records appended while the client is away, and while it is connected again.
    await appendJson(t, 'sse.orders', Array.from({ length: 15 }, (_, i) => ({ value: { n: 30 + i }, partition: i % 3 })))
    const second = readSse(t, '/topics/sse.orders/stream', (e) => e.length >= 48, { lastEventId: lastId })
    await appendJson(t, 'sse.orders', Array.from({ length: 15 }, (_, i) => ({ value: { n: 45 + i }, partition: i % 3 })))
    const resumed = await second

    const seen = [...first.slice(0, 12), ...resumed].map((e) => JSON.parse(e.data).value.n as number)
    expect(seen).toHaveLength(60)
    expect(new Set(seen).size).toBe(60)
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, n) => n))
    // Within a partition the stream keeps offset order.
    const offsets = new Map<number, number[]>()
    for (const e of [...first.slice(0, 12), ...resumed]) {
      const m = JSON.parse(e.data)
      offsets.set(m.partition, [...(offsets.get(m.partition) ?? []), m.offset])
    }
    for (const list of offsets.values()) expect(list).toEqual([...list].sort((a, b) => a - b))
  })

  it('starts at the log end by default and delivers records appended afterwards', async () => {
    await createTopic(t, 'sse.live')
    await appendJson(t, 'sse.live', [{ value: { n: 'old' } }])
    let opened!: () => void
    const open = new Promise<void>((resolve) => (opened = resolve))
    const events = readSse(t, '/topics/sse.live/stream', (e) => e.length >= 2, { onOpen: () => opened() })
    await open
    await appendJson(t, 'sse.live', [{ value: { n: 'new-1' } }, { value: { n: 'new-2' } }])
    expect((await events).map((e) => JSON.parse(e.data).value.n)).toEqual(['new-1', 'new-2'])
  })

  it('refuses a malformed Last-Event-ID (422) and an unknown topic (404)', async () => {
    await createTopic(t, 'sse.bad')
    const bad = await t.request('GET', '/topics/sse.bad/stream', { token: t.tokens.admin, headers: { 'last-event-id': 'nonsense' } })
    expect(bad.status).toBe(422)
    expect((await t.request('GET', '/topics/sse.none/stream', { token: t.tokens.admin })).status).toBe(404)
  })
})
