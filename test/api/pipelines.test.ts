import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestSluice, startTestSluice } from '../harness/sluice.js'

// Unreachable databases: the API behaviour must not depend on the source or target being up.
const SOURCE = {
  name: 'shop-db',
  connector: 'postgresql',
  config: { 'database.hostname': '127.0.0.1', 'database.port': 1, 'database.user': 'u', 'database.password': 'p', 'database.dbname': 'shop', 'schema.include.list': 'public' },
}
const DESTINATION = {
  name: 'warehouse',
  connector: 'postgresql',
  config: { 'database.hostname': '127.0.0.1', 'database.port': 1, 'database.user': 'u', 'database.password': 'p', 'database.dbname': 'warehouse' },
}

describe('pipelines API', () => {
  let t: TestSluice
  let sourceId: string
  let destinationId: string
  const admin = () => t.tokens.admin

  beforeAll(async () => {
    t = await startTestSluice()
    sourceId = (await t.request('POST', '/sources', { token: t.tokens.admin, body: SOURCE })).body.id
    destinationId = (await t.request('POST', '/destinations', { token: t.tokens.admin, body: DESTINATION })).body.id
  })
  afterAll(async () => t?.stop())

  const body = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    source: { id: sourceId, name: 'shop-db', connector: 'postgresql' },
    destination: { id: destinationId, name: 'warehouse', connector: 'postgresql' },
    ...extra,
  })

  it('creates a pipeline in Streamkap shape, with a consumer group of its own', async () => {
    const topics = [`source_${sourceId}.public.orders`]
    const res = await t.request('POST', '/pipelines', { token: admin(), body: body('orders-to-warehouse', { source: { id: sourceId, topics }, snapshot_new_tables: true }) })
    expect(res.status).toBe(200)
    const p = res.body
    expect(p).toMatchObject({
      name: 'orders-to-warehouse',
      snapshot_new_tables: true,
      topics,
      topic_ids: topics,
      source: { id: sourceId, name: 'shop-db', connector: 'postgresql', topics },
      destination: { id: destinationId, name: 'warehouse', connector: 'postgresql' },
      transforms: [],
      consumer_group: `pipeline_${p.id}`,
    })
    const one = await t.request('GET', `/pipelines/${p.id}`, { token: t.tokens.readOnly })
    expect(one.status).toBe(200)
    expect(one.body).toMatchObject({ total: 1, page: 1, has_next: false })
    expect(one.body.result[0].id).toBe(p.id)
    const dest = (await t.request('GET', `/destinations/${destinationId}`, { token: admin() })).body.result[0]
    expect(dest.topics).toEqual(topics)
  })

  it('lists with filters', async () => {
    await t.request('POST', '/pipelines', { token: admin(), body: body('second') })
    const all = await t.request('GET', '/pipelines?sort=name', { token: admin() })
    expect(all.body.total).toBe(2)
    expect(all.body.result.map((p: { name: string }) => p.name)).toEqual(['orders-to-warehouse', 'second'])
    expect((await t.request('GET', '/pipelines?partial_name=seco', { token: admin() })).body.total).toBe(1)
    expect((await t.request('GET', `/pipelines?destination_id=${destinationId}`, { token: admin() })).body.total).toBe(2)
    expect((await t.request('GET', '/pipelines?source_id=0123456789abcdef01234567', { token: admin() })).body.total).toBe(0)
  })

  it('rejects missing references, foreign topics and bad bodies with 422; duplicates with 409', async () => {
    const missing = await t.request('POST', '/pipelines', {
      token: admin(),
      body: { name: 'dangling', source: { id: '0123456789abcdef01234567' }, destination: { id: 'ffffffffffffffffffffffff' } },
    })
    expect(missing.status).toBe(422)
    expect(missing.body.detail.map((p: { loc: string[] }) => p.loc)).toEqual([['body', 'source', 'id'], ['body', 'destination', 'id']])
    const foreign = await t.request('POST', '/pipelines', { token: admin(), body: body('foreign', { source: { id: sourceId, topics: ['other.public.x'] } }) })
    expect(foreign.status).toBe(422)
    expect(foreign.body.detail[0].loc).toEqual(['body', 'source', 'topics', 0])
    const shape = await t.request('POST', '/pipelines', { token: admin(), body: { name: 'no-destination', source: { id: sourceId } } })
    expect(shape.status).toBe(422)
    expect(shape.body.detail[0].loc).toEqual(['body', 'destination'])
    const dup = await t.request('POST', '/pipelines', { token: admin(), body: body('second') })
    expect(dup.status).toBe(409)
    expect((await t.request('GET', '/pipelines', { token: admin() })).body.total).toBe(2)
  })

  it('403 for Read Only writes; 404 for unknown pipelines', async () => {
    expect((await t.request('POST', '/pipelines', { token: t.tokens.readOnly, body: body('ro') })).status).toBe(403)
    for (const [method, path] of [['GET', '/pipelines/0123456789abcdef01234567'], ['DELETE', '/pipelines/0123456789abcdef01234567'], ['GET', '/pipelines/0123456789abcdef01234567/metrics']]) {
      const res = await t.request(method, path, { token: admin() })
      expect(res.status, `${method} ${path}`).toBe(404)
      expect(res.body.detail).toMatch(/not found/i)
    }
    expect((await t.request('PUT', '/pipelines/0123456789abcdef01234567', { token: admin(), body: body('x') })).status).toBe(404)
  })

  it('updates, reports metrics, and protects a destination in use; delete removes the pipeline', async () => {
    const created = (await t.request('POST', '/pipelines', { token: admin(), body: body('to-update') })).body
    const updated = await t.request('PUT', `/pipelines/${created.id}`, { token: admin(), body: body('updated') })
    expect(updated.status).toBe(200)
    expect(updated.body).toMatchObject({ id: created.id, name: 'updated' })
    const metrics = await t.request('GET', `/pipelines/${created.id}/metrics`, { token: t.tokens.readOnly })
    expect(metrics.status).toBe(200)
    expect(metrics.body.data).toEqual({ latency: null, recordsLag: 0, status: expect.any(String) })
    expect(metrics.body.metadata.recordsLag).toEqual({ name: 'Lag in Events', unit: 'count' })

    const inUse = await t.request('DELETE', `/destinations/${destinationId}`, { token: admin() })
    expect(inUse.status).toBe(409)
    // Its source too: the pipeline's delivery would be left reading topics that no longer exist.
    const sourceInUse = await t.request('DELETE', `/sources/${sourceId}`, { token: admin() })
    expect(sourceInUse.status).toBe(409)
    expect(sourceInUse.body.detail).toContain(created.id)
    expect((await t.request('GET', `/sources/${sourceId}`, { token: admin() })).status).toBe(200)
    for (const p of (await t.request('GET', '/pipelines', { token: admin() })).body.result) {
      expect((await t.request('DELETE', `/pipelines/${p.id}`, { token: admin() })).status).toBe(200)
    }
    expect((await t.request('GET', '/pipelines', { token: admin() })).body.total).toBe(0)
    expect((await t.request('DELETE', `/destinations/${destinationId}`, { token: admin() })).status).toBe(200)
  })

  it('bulk-deletes sources and destinations: a selection by ids or filters, per-entity results, in-use ones refused', async () => {
    const src = (await t.request('POST', '/sources', { token: admin(), body: { ...SOURCE, name: 'bulk-src' } })).body.id
    const spare = (await t.request('POST', '/sources', { token: admin(), body: { ...SOURCE, name: 'bulk-spare' } })).body.id
    const dst = (await t.request('POST', '/destinations', { token: admin(), body: { ...DESTINATION, name: 'bulk-dst' } })).body.id
    const pipeline = (await t.request('POST', '/pipelines', { token: admin(), body: {
      name: 'bulk-pipeline', source: { id: src, name: 'bulk-src', connector: 'postgresql' }, destination: { id: dst, name: 'bulk-dst', connector: 'postgresql' },
    } })).body.id

    const refused = await t.request('DELETE', '/destinations/bulk/delete', { token: admin(), body: { ids: [dst, 'no-such-destination'] } })
    expect(refused.status).toBe(200)
    expect(refused.body.summary).toEqual({ total: 2, succeeded: 0, failed: 2 })
    expect(refused.body.results[0]).toMatchObject({ id: dst, success: false, message: expect.stringContaining(pipeline) })
    expect(refused.body.results[1]).toMatchObject({ id: 'no-such-destination', success: false })

    // filters.destination_id narrows select_all to the sources with a pipeline to it: the spare source is untouched.
    const bySource = await t.request('DELETE', '/sources/bulk/delete', { token: admin(), body: { select_all: true, filters: { destination_id: dst } } })
    expect(bySource.body.results.map((r: { id: string }) => r.id)).toEqual([src])
    expect(bySource.body.results[0].success).toBe(false)

    expect((await t.request('DELETE', '/sources/bulk/delete', { token: t.tokens.readOnly, body: { ids: [spare] } })).status).toBe(403)
    const invalid = await t.request('DELETE', '/sources/bulk/delete', { token: admin(), body: { ids: 'not-a-list' } })
    expect(invalid.status).toBe(422)
    expect(invalid.body.detail[0].loc).toEqual(['body', 'ids'])

    expect((await t.request('DELETE', `/pipelines/${pipeline}`, { token: admin() })).status).toBe(200)
    const deleted = await t.request('DELETE', '/sources/bulk/delete', { token: admin(), body: { ids: [src, spare] } })
    expect(deleted.body.summary).toEqual({ total: 2, succeeded: 2, failed: 0 })
    const gone = await t.request('DELETE', '/destinations/bulk/delete', { token: admin(), body: { ids: [dst] } })
    expect(gone.body.results).toEqual([{ id: dst, success: true, message: 'Destination deleted', data: { id: dst } }])
    expect((await t.request('GET', `/destinations/${dst}`, { token: admin() })).status).toBe(404)
    expect((await t.request('GET', `/sources/${spare}`, { token: admin() })).status).toBe(404)
  })
})
