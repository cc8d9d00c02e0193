/**
 * Every error path of the snapshot endpoints, with its status code and body (DESIGN.md guarantees 4 and 5): 404 when
 * nothing runs, 409 for a second snapshot or a wrong state, FastAPI-style 422s at the right `loc`, 401 without a
 * token and 403 for Read Only, and the bulk endpoints' partial-failure shape. A paused incremental snapshot keeps a
 * snapshot "running" for as long as the test needs, without racing a table read to its end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminClient, type ApiClient } from '../../harness/api-client.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type TestSluice, startTestSluice } from '../../harness/sluice.js'
import { createSource, pgSourceConfig, topicOf, waitForStatus } from '../../harness/sources.js'
import { waitFor } from '../../harness/wait-for.js'

const SNAPSHOT_ENDPOINTS = [
  '/sources/snapshot',
  '/sources/execute_blocking_snapshot',
  '/sources/stop_blocking_snapshot',
  '/sources/cancel_snapshot',
  '/sources/stop_incremental_snapshot',
  '/sources/pause_incremental_snapshot',
  '/sources/resume_incremental_snapshot',
  '/sources/bulk/snapshot',
  '/sources/bulk/stop-snapshot',
  '/topics/bulk/snapshot',
  '/topics/bulk/stop-snapshot',
]

async function latestRun(api: ApiClient, id: string): Promise<any> {
  return (await api.request('GET', `/sources/${id}/snapshots`)).body.result[0]
}

function locs(body: any): string[] {
  return body.detail.map((d: any) => JSON.stringify(d.loc))
}

describe('snapshot API error paths', () => {
  let pg: TestPostgres
  let t: TestSluice
  let api: ApiClient
  /** Runs a paused incremental snapshot through most of the suite. */
  let busy: string
  /** Captures a keyed and a keyless table; no snapshot runs on it until the bulk test. */
  let idle: string

  beforeAll(async () => {
    pg = await startPostgres()
    await pg.query('CREATE TABLE big (id int PRIMARY KEY, payload text NOT NULL)')
    await pg.query("INSERT INTO big SELECT g, 'p' || g FROM generate_series(1, 100000) g")
    await pg.query('CREATE TABLE small (id int PRIMARY KEY, payload text NOT NULL)')
    await pg.query("INSERT INTO small SELECT g, 's' || g FROM generate_series(1, 50) g")
    await pg.query('CREATE TABLE keyless (kind text NOT NULL, at int)')
    await pg.query("INSERT INTO keyless SELECT 'k' || g, g FROM generate_series(1, 50) g")
    t = await startTestSluice()
    api = adminClient(t)
    // 100 rows a chunk: a thousand chunks, so the snapshot is still early when it is paused.
    busy = await createSource(api, pgSourceConfig(pg, { 'table.include.list': 'public.big', 'incremental.snapshot.chunk.size': 100 }))
    idle = await createSource(api, pgSourceConfig(pg, { 'table.include.list': 'public.small,public.keyless' }))
    await waitForStatus(api, busy, 'Active')
    await waitForStatus(api, idle, 'Active')
  })
  afterAll(async () => {
    await t?.stop()
    await pg?.destroy()
  })

  it('answers 404/409 on state errors: nothing running, a second snapshot, pausing twice, no incremental snapshot', async () => {
    const none = await api.request('POST', '/sources/cancel_snapshot', { source_id: busy })
    expect(none.status).toBe(404)
    expect(typeof none.body.detail).toBe('string')
    const noIncremental = await api.request('POST', '/sources/stop_incremental_snapshot', { source_id: busy })
    expect(noIncremental.status).toBe(409)
    expect(noIncremental.body.detail).toMatch(/no incremental snapshot/i)
    expect((await api.request('POST', '/sources/pause_incremental_snapshot', { source_id: busy })).status).toBe(409)
    expect((await api.request('POST', '/sources/stop_blocking_snapshot', { source_id: busy })).status).toBe(409)
    expect((await api.request('POST', '/sources/cancel_snapshot', { source_id: '0123456789abcdef01234567' })).status).toBe(404)

    const started = await api.request('POST', '/sources/snapshot', { source_id: busy })
    expect(started.status).toBe(200)
    await waitFor(() => latestRun(api, busy), (r) => r.status === 'running' && r.rows_read > 0, { message: 'incremental snapshot running' })
    const paused = await api.request('POST', '/sources/pause_incremental_snapshot', { source_id: busy })
    expect(paused.status).toBe(200)
    expect(paused.body).toMatchObject({ status: 'running', paused: true })

    const again = await api.request('POST', '/sources/pause_incremental_snapshot', { source_id: busy })
    expect(again.status).toBe(409)
    expect(again.body.detail).toMatch(/already paused/)
    for (const snapshotType of ['incremental', 'blocking']) {
      const second = await api.request('POST', '/sources/snapshot', { source_id: busy, snapshot_type: snapshotType })
      expect(second.status).toBe(409)
      expect(second.body.detail).toMatch(/^An incremental snapshot \(\w+\) is already running for this source$/)
    }
    expect((await api.request('POST', '/sources/execute_blocking_snapshot', { source_id: busy })).status).toBe(409)
    expect((await api.request('POST', '/sources/stop_blocking_snapshot', { source_id: busy })).status).toBe(409)
    expect((await api.request('GET', `/sources/${busy}/snapshots`)).body.result).toHaveLength(1)
  })

  it('lists exactly the source with a running snapshot under GET /sources?snapshot=running', async () => {
    const res = await api.request('GET', '/sources?snapshot=running&page_size=100')
    expect(res.status).toBe(200)
    expect(res.body.result.map((s: any) => s.id)).toEqual([busy])
    const completed = await api.request('GET', '/sources?snapshot=completed&page_size=100')
    expect(completed.body.result).toEqual([])
    const metrics = await api.request('GET', `/sources/${busy}/metrics`)
    expect(metrics.body.data).toMatchObject({ SnapshotRunning: 1, SnapshotCompleted: 0, snapshotState: 'running' })
  })

  it('answers 422 at the offending field and changes nothing', async () => {
    const post = (body: unknown) => api.request('POST', '/sources/snapshot', body)
    const missing = await post({})
    expect(missing.status).toBe(422)
    expect(missing.body.detail[0]).toMatchObject({ type: 'missing', loc: ['body', 'source_id'], msg: 'Field required' })

    const wrongTypes = await post({ source_id: 5, topic_names: 'public.small', snapshot_type: 'full', surrogate_key: 7 })
    expect(wrongTypes.status).toBe(422)
    expect(locs(wrongTypes.body).sort()).toEqual(
      ['["body","snapshot_type"]', '["body","source_id"]', '["body","surrogate_key"]', '["body","topic_names"]'].sort(),
    )
    for (const d of wrongTypes.body.detail) expect(Object.keys(d)).toEqual(expect.arrayContaining(['type', 'loc', 'msg', 'input']))

    const notCaptured = await post({ source_id: idle, topic_names: [topicOf(idle, 'small'), 'public.big', 'public.nope'] })
    expect(notCaptured.status).toBe(422)
    expect(notCaptured.body.detail.map((d: any) => d.loc)).toEqual([['body', 'topic_names', 1], ['body', 'topic_names', 2]])
    expect(notCaptured.body.detail[0]).toMatchObject({ type: 'value_error', input: 'public.big' })

    const blockingFilters = await post({ source_id: idle, snapshot_type: 'blocking', additional_conditions: [{ data_collection: 'public.small', filter: 'id > 1' }] })
    expect(blockingFilters.status).toBe(422)
    expect(blockingFilters.body.detail.map((d: any) => d.loc)).toEqual([['body', 'additional_conditions']])
    const blockingKey = await post({ source_id: idle, snapshot_type: 'blocking', surrogate_key: 'id' })
    expect(blockingKey.status).toBe(422)
    expect(blockingKey.body.detail.map((d: any) => d.loc)).toEqual([['body', 'surrogate_key']])

    const keyless = await post({ source_id: idle, topic_names: ['public.small', topicOf(idle, 'keyless')] })
    expect(keyless.status).toBe(422)
    expect(keyless.body.detail).toHaveLength(1)
    expect(keyless.body.detail[0].loc).toEqual(['body', 'topic_names', 1])
    expect(keyless.body.detail[0].msg).toMatch(/no primary key/)
    const keylessAll = await post({ source_id: idle })
    expect(keylessAll.status).toBe(422)
    expect(keylessAll.body.detail.map((d: any) => d.loc)).toEqual([['body', 'surrogate_key']])

    const notAColumn = await post({ source_id: idle, topic_names: ['public.keyless'], surrogate_key: 'id' })
    expect(notAColumn.status).toBe(422)
    expect(notAColumn.body.detail[0]).toMatchObject({ loc: ['body', 'surrogate_key'], input: 'id' })
    expect(notAColumn.body.detail[0].msg).toMatch(/no column "id"/)

    const otherTable = await post({
      source_id: idle,
      topic_names: ['public.small'],
      additional_conditions: [{ data_collection: 'public.small', filter: 'id > 1' }, { data_collection: 'public.keyless', filter: 'at > 1' }],
    })
    expect(otherTable.status).toBe(422)
    expect(otherTable.body.detail.map((d: any) => d.loc)).toEqual([['body', 'additional_conditions', 1, 'data_collection']])

    for (const filter of ['id > 0; DELETE FROM small', 'id IN (SELECT 1)', 'pg_sleep(10) IS NULL', 'nope > 1']) {
      const unsafe = await post({ source_id: idle, topic_names: ['public.small'], additional_conditions: [{ data_collection: 'public.small', filter }] })
      expect(unsafe.status, filter).toBe(422)
      expect(unsafe.body.detail.map((d: any) => d.loc), filter).toEqual([['body', 'additional_conditions', 0, 'filter']])
    }
    expect((await pg.query('SELECT count(*)::int AS n FROM small')).rows[0].n).toBe(50)

    for (const path of ['/sources/stop_incremental_snapshot', '/sources/cancel_snapshot', '/sources/pause_incremental_snapshot']) {
      const res = await api.request('POST', path, { topic_names: [] })
      expect(res.status, path).toBe(422)
      expect(res.body.detail[0].loc, path).toEqual(['body', 'source_id'])
    }
    const badBulk = await api.request('POST', '/topics/bulk/snapshot', { topic_ids: [] })
    expect(badBulk.status).toBe(422)
    expect(badBulk.body.detail[0].loc).toEqual(['body', 'topic_ids'])
    // Nothing was written by any refused request.
    expect((await api.request('GET', `/sources/${idle}/snapshots`)).body.result).toEqual([])
  })

  it('answers 401 without a token and 403 for Read Only on every snapshot endpoint', async () => {
    for (const path of SNAPSHOT_ENDPOINTS) {
      const body = { source_id: busy, ids: [busy], topic_ids: [topicOf(busy, 'big')] }
      const anonymous = await t.request('POST', path, { body })
      expect(anonymous.status, path).toBe(401)
      expect(typeof anonymous.body.detail, path).toBe('string')
      const readOnly = await t.request('POST', path, { body, token: t.tokens.readOnly })
      expect(readOnly.status, path).toBe(403)
      expect(typeof readOnly.body.detail, path).toBe('string')
    }
    expect((await t.request('GET', `/sources/${busy}/snapshots`)).status).toBe(401)
    expect((await t.request('GET', `/sources/${busy}/snapshots`, { token: t.tokens.readOnly })).status).toBe(200)
    // The refused requests left the paused snapshot as it was.
    expect(await latestRun(api, busy)).toMatchObject({ status: 'running', paused: true })
  })

  it('bulk endpoints report per-item results with a partial failure', async () => {
    const snapshot = await api.request('POST', '/sources/bulk/snapshot', { ids: [busy, idle], snapshot_type: 'blocking' })
    expect(snapshot.status).toBe(200)
    expect(snapshot.body.summary).toEqual({ total: 2, succeeded: 1, failed: 1 })
    expect(snapshot.body.results).toHaveLength(2)
    expect(snapshot.body.results[0]).toMatchObject({ id: busy, success: false, message: expect.stringMatching(/already running/) })
    expect(snapshot.body.results[1]).toMatchObject({ id: idle, success: true, message: expect.any(String) })
    await waitFor(() => latestRun(api, idle), (r) => r.status === 'completed', { timeoutMs: 60_000, message: 'bulk blocking snapshot completed' })

    await t.sluice.log.createTopic('manual.topic', { partitions: 1 })
    const topics = await api.request('POST', '/topics/bulk/snapshot', { topic_ids: [topicOf(busy, 'big'), 'manual.topic', 'no.such.topic'] })
    expect(topics.status).toBe(200)
    expect(topics.body.summary).toEqual({ total: 3, succeeded: 0, failed: 3 })
    const byId = new Map(topics.body.results.map((r: any) => [r.id, r]))
    expect(byId.get('manual.topic')).toMatchObject({ success: false, message: expect.stringMatching(/source/) })
    expect(byId.get('no.such.topic')).toMatchObject({ success: false, message: expect.stringMatching(/not found/i) })
    expect(byId.get(busy)).toMatchObject({ success: false, message: expect.stringMatching(/already running/) })

    // Stop: the busy source's snapshot stops (progress kept), the idle one has nothing running.
    const stop = await api.request('POST', '/sources/bulk/stop-snapshot', { ids: [busy, idle] })
    expect(stop.status).toBe(200)
    expect(stop.body.summary).toEqual({ total: 2, succeeded: 1, failed: 1 })
    expect(stop.body.results[0]).toMatchObject({ id: busy, success: true })
    expect(stop.body.results[1]).toMatchObject({ id: idle, success: false, message: expect.stringMatching(/not found/i) })
    const cancelled = await latestRun(api, busy)
    expect(cancelled.status).toBe('cancelled')
    expect(cancelled.tables[0].rows_read).toBeGreaterThan(0)
    const stopTopics = await api.request('POST', '/topics/bulk/stop-snapshot', { topic_ids: [topicOf(busy, 'big'), 'manual.topic'] })
    expect(stopTopics.body.summary).toEqual({ total: 2, succeeded: 0, failed: 2 })
    expect((await api.request('GET', '/sources?snapshot=running&page_size=100')).body.result).toEqual([])
  })
})
