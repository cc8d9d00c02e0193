import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestSluice, startTestSluice } from '../harness/sluice.js'
import { appendJson, createTopic } from '../harness/topics.js'

describe('topic metrics: POST /topics/table_metrics and Prometheus GET /metrics', () => {
  let t: TestSluice
  const now = Date.now()

  beforeAll(async () => {
    t = await startTestSluice()
    await createTopic(t, 'metrics.orders', { num_partitions: 2 })
    await appendJson(t, 'metrics.orders', Array.from({ length: 10 }, (_, n) => ({ value: { n }, partition: n % 2, timestamp: now - 60_000 + n * 1000 })))
    await t.sluice.log.commitOffsets('metrics.group', [{ topic: 'metrics.orders', partition: 0, offset: 2 }, { topic: 'metrics.orders', partition: 1, offset: 5 }])
  })
  afterAll(async () => t?.stop())

  it('reports messages and bytes in over a window, and the slowest group\'s lag and latency', async () => {
    const res = await t.request('POST', '/topics/table_metrics', { token: t.tokens.readOnly, body: { entities: [{ id: 'x', entity_type: 'manual', topic_ids: ['metrics.orders', 'metrics.unknown'] }] } })
    expect(res.status).toBe(200)
    expect(res.body.result).toHaveLength(1)
    const m = res.body.result[0]
    expect(m).toMatchObject({ topic_id: 'metrics.orders', messages_in: 10, lag: 3, messages_out: null })
    expect(m.bytes_in).toBeGreaterThan(0)
    // The oldest uncommitted record is partition 0 offset 2, record n=4, appended 56 s before `now`.
    expect(m.avg_latency_ms).toBeGreaterThanOrEqual(56_000)
    expect(m.avg_latency_ms).toBeLessThan(56_000 + 60_000)

    const window = await t.request('POST', '/topics/table_metrics', { token: t.tokens.readOnly, body: { topic_ids: ['metrics.orders'], timestamp_from: now - 55_500, timestamp_to: now - 52_000 } })
    expect(window.body.result[0].messages_in).toBe(4)
    expect((await t.request('POST', '/topics/table_metrics', { token: t.tokens.readOnly, body: { timestamp_from: 'yesterday' } })).status).toBe(422)
  })

  it('exposes topic and consumer-group figures in the text exposition format', async () => {
    const res = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${t.tokens.readOnly}` } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = await res.text()
    expect(text).toContain('# TYPE sluice_topic_partition_latest_offset gauge')
    expect(text).toContain('sluice_topic_partition_latest_offset{topic="metrics.orders",partition="1"} 5')
    expect(text).toContain('sluice_topic_partition_records{topic="metrics.orders",partition="0"} 5')
    expect(text).toContain('sluice_consumer_group_committed_offset{group="metrics.group",topic="metrics.orders",partition="0"} 2')
    expect(text).toContain('sluice_consumer_group_lag{group="metrics.group",topic="metrics.orders",partition="0"} 3')
    for (const line of text.trim().split('\n')) {
      expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{(\w+="[^"]*",?)*\})? -?\d+(\.\d+)?(e[+-]?\d+)?)$/)
    }
    expect((await fetch(`${t.url}/metrics`)).status).toBe(401)
  })
})
