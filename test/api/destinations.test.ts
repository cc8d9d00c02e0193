import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metadataBackends } from '../harness/metadata-backends.js'
import { type TestSluice, startTestSluice } from '../harness/sluice.js'

// An unreachable target: the API behaviour must not depend on the destination being up.
const CONFIG = {
  'database.hostname.user.defined': '127.0.0.1',
  'database.port.user.defined': '1',
  'connection.username': 'writer',
  'database.password': 'hunter2-secret',
  'database.database.user.defined': 'warehouse',
  insert_mode: 'upsert',
}

function body(name: string, config: Record<string, unknown> = CONFIG) {
  return { name, connector: 'postgresql', config }
}

for (const backend of metadataBackends()) {
  describe(`destinations API (${backend.name} metadata)`, () => {
    let t: TestSluice

    beforeAll(async () => {
      t = await startTestSluice({ metadataUrl: await backend.setup() })
    })
    afterAll(async () => {
      await t?.stop()
      await backend.teardown()
    })

    const admin = () => t.tokens.admin

    it('creates a destination with normalized config, defaults, a redacted password and a dead-letter topic', async () => {
      const res = await t.request('POST', '/destinations', { token: admin(), body: body('warehouse') })
      expect(res.status).toBe(200)
      const d = res.body
      expect(d.id).toMatch(/^[0-9a-f]{24}$/)
      expect(d).toMatchObject({ name: 'warehouse', connector: 'postgresql', connector_display_name: 'PostgreSQL', desired_state: 'Active', topics: [] })
      expect(d.config).toEqual({
        'database.hostname': '127.0.0.1',
        'database.port': 1,
        'database.user': 'writer',
        'database.password': '********',
        'database.dbname': 'warehouse',
        'database.sslmode': 'prefer',
        schema: 'public',
        'table.name.format': '${table}',
        'insert.mode': 'upsert',
        'delete.mode': 'delete',
        'schema.evolution': 'basic',
        'batch.size': 20000,
        'server.check.interval.ms': 30000,
        'tasks.max': 1,
      })
      expect(d.dead_letter_topic).toBe(`destination_${d.id}.streamkap.deadletterqueue`)
      expect(d.created_timestamp).toMatch(/^\d{4}-\d\d-\d\dT/)
    })

    it('GET /destinations/{id} uses the list envelope; secrets only with secret_returned and a role that may see them', async () => {
      const created = (await t.request('POST', '/destinations', { token: admin(), body: body('envelope') })).body
      const res = await t.request('GET', `/destinations/${created.id}`, { token: t.tokens.readOnly })
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({ page: 1, page_size: 1, total: 1, has_next: false })
      expect(res.body.result[0].id).toBe(created.id)
      const readOnly = await t.request('GET', `/destinations/${created.id}?secret_returned=true`, { token: t.tokens.readOnly })
      expect(readOnly.body.result[0].config['database.password']).toBe('********')
      const shown = await t.request('GET', `/destinations/${created.id}?secret_returned=true`, { token: admin() })
      expect(shown.body.result[0].config['database.password']).toBe('hunter2-secret')
      expect((await t.request('GET', '/destinations/0123456789abcdef01234567', { token: admin() })).status).toBe(404)
    })

    it('lists, filters and searches', async () => {
      await t.request('POST', '/destinations', { token: admin(), body: body('list-alpha') })
      await t.request('POST', '/destinations', { token: admin(), body: body('list-beta') })
      const page = await t.request('GET', '/destinations?partial_name=list-&page_size=1&sort=name', { token: admin() })
      expect(page.status).toBe(200)
      expect(page.body).toMatchObject({ total: 2, page: 1, page_size: 1, has_next: true })
      expect(page.body.result[0].name).toBe('list-alpha')
      const search = await t.request('POST', '/destinations/search?partial_name=list-', { token: admin(), body: { connector: ['postgresql'] } })
      expect(search.body.total).toBe(2)
      const none = await t.request('POST', '/destinations/search?partial_name=list-', { token: admin(), body: { connector: 'snowflake' } })
      expect(none.body.total).toBe(0)
      const bad = await t.request('GET', '/destinations?status=Sleeping', { token: admin() })
      expect(bad.status).toBe(422)
    })

    it('serves connector schemas', async () => {
      const all = await t.request('GET', '/destinations/connectors', { token: t.tokens.readOnly })
      expect(all.status).toBe(200)
      const props = all.body.PostgreSQL as Array<{ name: string; encrypt: boolean }>
      expect(props.find((p) => p.name === 'database.password')?.encrypt).toBe(true)
      expect(props.map((p) => p.name)).toEqual(expect.arrayContaining(['insert.mode', 'delete.mode', 'schema.evolution', 'batch.size']))
      expect((await t.request('GET', '/destinations/connectors?connector_code=nope', { token: admin() })).status).toBe(404)
    })

    it('rejects bad input with FastAPI-style 422s and changes nothing', async () => {
      const before = (await t.request('GET', '/destinations', { token: admin() })).body.total
      const missing = await t.request('POST', '/destinations', { token: admin(), body: body('bad', { 'database.hostname': 'h', insert_mode: 'merge', extra: 1 }) })
      expect(missing.status).toBe(422)
      const locs = missing.body.detail.map((p: { loc: string[] }) => p.loc.join('.'))
      expect(locs).toEqual(expect.arrayContaining(['body.config.database.user', 'body.config.database.password', 'body.config.database.dbname', 'body.config.insert_mode', 'body.config.extra']))
      for (const p of missing.body.detail) expect(p).toEqual(expect.objectContaining({ loc: expect.any(Array), msg: expect.any(String), type: expect.any(String) }))
      const unknown = await t.request('POST', '/destinations', { token: admin(), body: { name: 'x', connector: 'snowflake', config: {} } })
      expect(unknown.status).toBe(422)
      expect(unknown.body.detail[0].loc).toEqual(['body', 'connector'])
      const noName = await t.request('POST', '/destinations', { token: admin(), body: { connector: 'postgresql', config: CONFIG } })
      expect(noName.status).toBe(422)
      expect(noName.body.detail[0].loc).toEqual(['body', 'name'])
      const badSchema = await t.request('POST', '/destinations', { token: admin(), body: body('bad-schema', { ...CONFIG, schema: 'a; drop table x' }) })
      expect(badSchema.status).toBe(422)
      expect(badSchema.body.detail[0].loc).toEqual(['body', 'config', 'schema'])
      const badFormat = await t.request('POST', '/destinations', { token: admin(), body: body('bad-format', { ...CONFIG, 'table.name.format': '${tabel}_x' }) })
      expect(badFormat.status).toBe(422)
      expect(badFormat.body.detail[0]).toMatchObject({ loc: ['body', 'config', 'table.name.format'], msg: expect.stringContaining('${tabel}') })
      const checkTooOften = await t.request('POST', '/destinations', { token: admin(), body: body('bad-check', { ...CONFIG, 'server.check.interval.ms': 5 }) })
      expect(checkTooOften.status).toBe(422)
      expect(checkTooOften.body.detail[0]).toMatchObject({ loc: ['body', 'config', 'server.check.interval.ms'], msg: 'Value error, must be 0 (off) or at least 1000' })
      expect((await t.request('GET', '/destinations', { token: admin() })).body.total).toBe(before)
    })

    it('validates httpsink configs and redacts its signing secret', async () => {
      const bad = await t.request('POST', '/destinations', { token: admin(), body: { name: 'hook', connector: 'httpsink', config: { 'http.url': 'ftp://x', 'http.headers': 'no colon' } } })
      expect(bad.status).toBe(422)
      expect(bad.body.detail[0].loc).toEqual(['body', 'config', 'http.url'])
      const ok = await t.request('POST', '/destinations', {
        token: admin(),
        body: { name: 'hook', connector: 'httpsink', config: { 'http.url': 'http://127.0.0.1:1/in', 'http.signature.secret': 's3cret', 'retries.max': '3' } },
      })
      expect(ok.status).toBe(200)
      expect(ok.body).toMatchObject({ connector: 'httpsink', connector_display_name: 'HTTP Sink' })
      expect(ok.body.config).toMatchObject({ 'http.url': 'http://127.0.0.1:1/in', 'http.signature.secret': '********', 'retries.max': 3, 'http.method': 'POST' })
    })

    it('409 on a duplicate name, 403 for Read Only, 401 without a token', async () => {
      await t.request('POST', '/destinations', { token: admin(), body: body('dup') })
      const dup = await t.request('POST', '/destinations', { token: admin(), body: body('dup') })
      expect(dup.status).toBe(409)
      expect(dup.body.detail).toMatch(/already exists/)
      const ro = await t.request('POST', '/destinations', { token: t.tokens.readOnly, body: body('ro') })
      expect(ro.status).toBe(403)
      expect(typeof ro.body.detail).toBe('string')
      expect((await t.request('GET', '/destinations', { token: null })).status).toBe(401)
      expect((await t.request('POST', '/destinations', { token: t.tokens.dataAdmin, body: body('by-data-admin') })).status).toBe(200)
    })

    it('updates keep a secret sent back redacted; the connector cannot change', async () => {
      const created = (await t.request('POST', '/destinations', { token: admin(), body: body('to-update') })).body
      const res = await t.request('PUT', `/destinations/${created.id}?secret_returned=true`, {
        token: admin(),
        body: body('updated', { ...created.config, 'delete.mode': 'soft' }),
      })
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({ name: 'updated', config: { 'delete.mode': 'soft', 'database.password': 'hunter2-secret' } })
      const other = await t.request('PUT', `/destinations/${created.id}`, { token: admin(), body: { ...body('updated', CONFIG), connector: 'httpsink' } })
      expect(other.status).toBe(422)
      expect((await t.request('PUT', '/destinations/0123456789abcdef01234567', { token: admin(), body: body('x') })).status).toBe(404)
    })

    it('lifecycle actions set the desired state; delete removes it', async () => {
      const created = (await t.request('POST', '/destinations', { token: admin(), body: body('lifecycle') })).body
      const paused = await t.request('POST', `/destinations/${created.id}/actions/pause`, { token: admin() })
      expect(paused.status).toBe(200)
      expect(paused.body).toMatchObject({ id: created.id, action: 'pause', desired_state: 'Paused', connector_status: 'Paused' })
      const stopped = await t.request('POST', `/destinations/${created.id}/actions/stop`, { token: admin() })
      expect(stopped.body).toMatchObject({ desired_state: 'Stopped', connector_status: 'Stopped' })
      const resumed = await t.request('POST', `/destinations/${created.id}/actions/resume`, { token: admin() })
      expect(resumed.body).toMatchObject({ desired_state: 'Active', connector_status: 'Active' })
      expect((await t.request('POST', `/destinations/${created.id}/actions/restart`, { token: admin() })).status).toBe(200)
      expect((await t.request('POST', `/destinations/${created.id}/actions/explode`, { token: admin() })).status).toBe(422)
      expect((await t.request('POST', '/destinations/0123456789abcdef01234567/actions/pause', { token: admin() })).status).toBe(404)
      const deployed = await t.request('POST', `/destinations/${created.id}/deploy`, { token: admin() })
      expect(deployed.status).toBe(200)
      expect(deployed.body).toMatchObject({ id: created.id, desired_state: 'Active', config: { 'database.password': '********' } })
      expect((await t.request('POST', '/destinations/0123456789abcdef01234567/deploy', { token: admin() })).status).toBe(404)
      const bulkPaused = await t.request('POST', '/destinations/bulk/pause', { token: admin(), body: { ids: [created.id, '0123456789abcdef01234567'] } })
      expect(bulkPaused.status).toBe(200)
      expect(bulkPaused.body.summary).toEqual({ total: 2, succeeded: 1, failed: 1 })
      expect(bulkPaused.body.results[0]).toMatchObject({ id: created.id, success: true, message: 'Destination paused', data: { desired_state: 'Paused', connector_status: 'Paused' } })
      const bulkResumed = await t.request('POST', '/destinations/bulk/resume', { token: admin(), body: { ids: [created.id] } })
      expect(bulkResumed.body.results[0]).toMatchObject({ success: true, message: 'Destination resumed', data: { desired_state: 'Active' } })
      expect((await t.request('POST', '/destinations/bulk/stop', { token: admin(), body: { ids: 7 } })).status).toBe(422)
      expect((await t.request('POST', '/destinations/bulk/stop', { token: t.tokens.readOnly, body: { ids: [created.id] } })).status).toBe(403)
      const metrics = await t.request('GET', `/destinations/${created.id}/metrics`, { token: t.tokens.readOnly })
      expect(metrics.status).toBe(200)
      expect(metrics.body.data).toMatchObject({ latency: null, recordsLag: 0, sinkRecordWriteTotal: 0, deadLetterRecordTotal: 0, pipelines: 0 })
      expect((await t.request('GET', '/destinations/0123456789abcdef01234567/metrics', { token: admin() })).status).toBe(404)
      expect((await t.request('POST', `/destinations/${created.id}/actions/pause`, { token: t.tokens.readOnly })).status).toBe(403)
      const deleted = await t.request('DELETE', `/destinations/${created.id}`, { token: admin() })
      expect(deleted.status).toBe(200)
      expect((await t.request('GET', `/destinations/${created.id}`, { token: admin() })).status).toBe(404)
      expect((await t.request('DELETE', `/destinations/${created.id}`, { token: admin() })).status).toBe(404)
    })
  })
}
