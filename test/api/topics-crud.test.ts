import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestSluice, startTestSluice } from '../harness/sluice.js'
import { appendJson, createTopic } from '../harness/topics.js'

describe('topics API: manual topics, details, update and delete', () => {
  let t: TestSluice
  const admin = () => t.tokens.admin

  beforeAll(async () => {
    t = await startTestSluice()
  })
  afterAll(async () => t?.stop())

  it('creates a manual topic with its config and lists it as a manual entity', async () => {
    const res = await t.request('POST', '/topics', {
      token: admin(),
      body: { topic_name: 'crud.orders', num_partitions: 3, cleanup_policy: 'delete', retention_ms: 3_600_000, retention_bytes: 1_000_000, max_message_bytes: 2048, replication_factor: 3, custom_configs: { 'segment.ms': '1' } },
    })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      id: 'crud.orders', name: 'crud.orders', num_partitions: 3, replication_factor: 1, cleanup_policy: 'delete',
      retention_ms: 3_600_000, retention_bytes: 1_000_000, max_message_bytes: 2048, entity: { entity_type: 'manual', entity_id: null },
    })
    expect(res.body.warnings).toHaveLength(2)
    const list = await t.request('GET', '/topics/details?entity_type=manual&partial_name=CRUD.ORD', { token: t.tokens.readOnly })
    expect(list.status).toBe(200)
    expect(list.body.result.map((r: any) => r.id)).toEqual(['crud.orders'])
  })

  it('refuses invalid names and values with 422 and duplicates with 409, creating nothing', async () => {
    const bad = [
      [{ topic_name: 'has space' }, 'topic_name'],
      [{ topic_name: '..' }, 'topic_name'],
      [{ topic_name: 'x'.repeat(250) }, 'topic_name'],
      [{ topic_name: 'ok.name', num_partitions: 0 }, 'num_partitions'],
      [{ topic_name: 'ok.name', cleanup_policy: 'delete,compact' }, 'cleanup_policy'],
      [{ topic_name: 'ok.name', retention_ms: -2 }, 'retention_ms'],
      [{ topic_name: 'ok.name', retention_bytes: 1.5 }, 'retention_bytes'],
      [{ topic_name: 'ok.name', max_message_bytes: 0 }, 'max_message_bytes'],
      [{}, 'topic_name'],
    ] as const
    for (const [body, field] of bad) {
      const res = await t.request('POST', '/topics', { token: admin(), body })
      expect(res.status, JSON.stringify(body)).toBe(422)
      expect(res.body.detail[0].loc).toEqual(['body', field])
    }
    expect((await t.request('GET', '/topics/ok.name', { token: admin() })).status).toBe(404)
    await createTopic(t, 'crud.dup')
    const dup = await t.request('POST', '/topics', { token: admin(), body: { topic_name: 'crud.dup' } })
    expect(dup.status).toBe(409)
    expect(dup.body.detail).toMatch(/already exists/)
    expect((await t.request('POST', '/topics', { token: t.tokens.readOnly, body: { topic_name: 'crud.ro' } })).status).toBe(403)
  })

  it('shows partitions with offsets, configs, message counts for 7 and 30 days, and bytes', async () => {
    await createTopic(t, 'crud.stats', { num_partitions: 2 })
    const day = 24 * 3600_000
    const now = Date.now()
    await appendJson(t, 'crud.stats', [
      { value: { n: 1 }, partition: 0, timestamp: now - 20 * day },
      { value: { n: 2 }, partition: 0, timestamp: now - 2 * day },
      { value: { n: 3 }, partition: 1, timestamp: now - 40 * day },
      { value: { n: 4 }, partition: 1, timestamp: now },
    ])
    const res = await t.request('GET', '/topics/crud.stats', { token: t.tokens.readOnly })
    expect(res.status).toBe(200)
    expect(res.body.partitions).toEqual([
      { partition: 0, earliest_offset: 0, latest_offset: 2 },
      { partition: 1, earliest_offset: 0, latest_offset: 2 },
    ])
    expect(res.body).toMatchObject({ messages_7d: 2, messages_30d: 3, records: 4 })
    expect(res.body.bytes).toBeGreaterThan(0)
    expect(res.body.kafka.partitions.count).toBe(2)
    expect(res.body.kafka.partitions.details[1]).toMatchObject({ partition: 1, records: 2 })
    expect(res.body.kafka.configs).toMatchObject({ 'cleanup.policy': 'delete', 'retention.ms': String(7 * day) })
    expect((await t.request('GET', '/topics/crud.nope', { token: admin() })).status).toBe(404)
  })

  it('filters details by topic_id, include_dlq and snapshot, and pages', async () => {
    for (const name of ['page.a', 'page.b', 'page.c', 'page.c.dlq']) await createTopic(t, name)
    const all = await t.request('GET', '/topics/details?partial_name=page.', { token: admin() })
    expect(all.body.result.map((r: any) => r.id)).toEqual(['page.a', 'page.b', 'page.c', 'page.c.dlq'])
    const noDlq = await t.request('GET', '/topics/details?partial_name=page.&include_dlq=false', { token: admin() })
    expect(noDlq.body.result.map((r: any) => r.id)).toEqual(['page.a', 'page.b', 'page.c'])
    const paged = await t.request('GET', '/topics/details?partial_name=page.&page=2&page_size=3', { token: admin() })
    expect(paged.body).toMatchObject({ page: 2, page_size: 3, total: 4, has_next: false })
    expect(paged.body.result.map((r: any) => r.id)).toEqual(['page.c.dlq'])
    const byId = await t.request('GET', '/topics/details?topic_id=page.b,page.a', { token: admin() })
    expect(byId.body.result.map((r: any) => r.id)).toEqual(['page.a', 'page.b'])
    // Manual topics have no source, so no snapshot status matches them.
    const snap = await t.request('GET', '/topics/details?partial_name=page.&snapshot=completed', { token: admin() })
    expect(snap.body.result).toEqual([])
    expect((await t.request('GET', '/topics/details?snapshot=done', { token: admin() })).status).toBe(422)
  })

  it('grows partitions and changes retention with PUT; a shrink or an empty update is a 422', async () => {
    await createTopic(t, 'crud.grow', { num_partitions: 2 })
    const grown = await t.request('PUT', '/topics/crud.grow', { token: admin(), body: { payload: { partition_count: 4, tags: [] } } })
    expect(grown.status).toBe(200)
    expect(grown.body.num_partitions).toBe(4)
    expect(grown.body.partitions).toHaveLength(4)
    const retention = await t.request('PUT', '/topics/crud.grow', { token: admin(), body: { retention_ms: 1000, retention_bytes: 5000 } })
    expect(retention.body).toMatchObject({ retention_ms: 1000, retention_bytes: 5000, num_partitions: 4 })
    const shrink = await t.request('PUT', '/topics/crud.grow', { token: admin(), body: { payload: { partition_count: 3 } } })
    expect(shrink.status).toBe(422)
    expect(shrink.body.detail[0].loc).toEqual(['body', 'partition_count'])
    expect((await t.request('PUT', '/topics/crud.grow', { token: admin(), body: {} })).status).toBe(422)
    expect((await t.request('PUT', '/topics/crud.grow', { token: admin(), body: { retention_ms: -5 } })).status).toBe(422)
    expect((await t.request('PUT', '/topics/crud.missing', { token: admin(), body: { retention_ms: 5 } })).status).toBe(404)
    expect((await t.request('GET', '/topics/crud.grow', { token: admin() })).body.num_partitions).toBe(4)
  })

  it('deletes a manual topic, and refuses with 409 a topic a source writes to', async () => {
    await createTopic(t, 'crud.gone')
    const del = await t.request('DELETE', '/topics/crud.gone', { token: admin() })
    expect(del.status).toBe(200)
    expect((await t.request('GET', '/topics/crud.gone', { token: admin() })).status).toBe(404)
    expect((await t.request('DELETE', '/topics/crud.gone', { token: admin() })).status).toBe(404)

    const source = await t.request('POST', '/sources', {
      token: admin(),
      body: { name: 'topic-owner', connector: 'postgresql', config: { 'database.hostname.user.defined': '127.0.0.1', 'database.port.user.defined': '1', 'database.user': 'u', 'database.password': 'p', 'database.dbname': 'd', 'schema.include.list': 'public', 'table.include.list.user.defined': 'public.t' } },
    })
    expect(source.status).toBe(200)
    const topic = `source_${source.body.id}.public.t`
    await t.sluice.log.createTopic(topic)
    const owned = await t.request('GET', `/topics/details?entity_type=sources&entity_id=${source.body.id}`, { token: admin() })
    expect(owned.body.result.map((r: any) => r.id)).toEqual([topic])
    const refused = await t.request('DELETE', `/topics/${topic}`, { token: admin() })
    expect(refused.status).toBe(409)
    expect(refused.body.detail).toContain(source.body.id)
    expect((await t.request('GET', `/topics/${topic}`, { token: admin() })).status).toBe(200)
  })
})
