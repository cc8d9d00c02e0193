import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metadataBackends } from '../harness/metadata-backends.js'
import { type TestSluice, startTestSluice } from '../harness/sluice.js'

const CONFIG = {
  'database.hostname.user.defined': 'db.example.internal',
  'database.port.user.defined': '5432',
  'database.user': 'capture',
  'database.password': 'hunter2-secret',
  'database.dbname': 'shop',
  'schema.include.list': 'public',
  'table.include.list.user.defined': 'public.orders,public.customers',
}

function sourceBody(name: string, config: Record<string, unknown> = CONFIG) {
  return { name, connector: 'postgresql', config }
}

for (const backend of metadataBackends()) {
  describe(`sources API (${backend.name} metadata)`, () => {
    let t: TestSluice

    beforeAll(async () => {
      t = await startTestSluice({ metadataUrl: await backend.setup() })
    })
    afterAll(async () => {
      await t?.stop()
      await backend.teardown()
    })

    const admin = () => t.tokens.admin
    const count = async () => (await t.request('GET', '/sources', { token: admin() })).body.total as number

    it('creates a source with normalized config, defaults, and a redacted password', async () => {
      const res = await t.request('POST', '/sources', { token: admin(), body: sourceBody('orders-db') })
      expect(res.status).toBe(200)
      const s = res.body
      expect(s.id).toMatch(/^[0-9a-f]{24}$/)
      expect(s).toMatchObject({ name: 'orders-db', connector: 'postgresql', connector_display_name: 'PostgreSQL', desired_state: 'Active' })
      expect(s.config).toMatchObject({
        'database.hostname': 'db.example.internal',
        'database.port': 5432,
        'database.password': '********',
        'table.include.list': 'public.orders,public.customers',
        'slot.name': `sluice_${s.id}`,
        'publication.name': `sluice_pub_${s.id}`,
        'topic.prefix': `source_${s.id}`,
        'snapshot.mode': 'initial',
        'heartbeat.enabled': true,
      })
      expect(s.config).not.toHaveProperty('database.hostname.user.defined')
      expect(typeof s.connector_status).toBe('string')
      expect(s.created_timestamp).toMatch(/^\d{4}-\d\d-\d\dT/)
    })

    it('GET /sources/{id} uses the list envelope; unknown ids are 404', async () => {
      const created = await t.request('POST', '/sources', { token: admin(), body: sourceBody('envelope-db') })
      const res = await t.request('GET', `/sources/${created.body.id}`, { token: t.tokens.readOnly })
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({ page: 1, page_size: 1, total: 1, has_next: false })
      expect(res.body.result[0].id).toBe(created.body.id)
      const missing = await t.request('GET', '/sources/0123456789abcdef01234567', { token: admin() })
      expect(missing.status).toBe(404)
      expect(missing.body).toEqual({ detail: 'Source not found: 0123456789abcdef01234567' })
    })

    it('reveals secrets only with secret_returned=true and a role allowed to see them', async () => {
      const created = await t.request('POST', '/sources', { token: admin(), body: sourceBody('secret-db') })
      const id = created.body.id
      const asAdmin = await t.request('GET', `/sources/${id}?secret_returned=true`, { token: admin() })
      expect(asAdmin.body.result[0].config['database.password']).toBe('hunter2-secret')
      const asReader = await t.request('GET', `/sources/${id}?secret_returned=true`, { token: t.tokens.readOnly })
      expect(asReader.body.result[0].config['database.password']).toBe('********')
      const plain = await t.request('GET', `/sources/${id}`, { token: admin() })
      expect(plain.body.result[0].config['database.password']).toBe('********')
    })

    it('stores the password encrypted', async () => {
      const rows = await t.sluice.metadata.db.selectFrom('sources').select('config').execute()
      for (const row of rows) {
        expect(row.config).not.toContain('hunter2-secret')
        expect(JSON.parse(row.config)['database.password']).toMatch(/^enc:v1:/)
      }
    })

    it('rejects every invalid config with a 422 naming the key, and writes nothing', async () => {
      const before = await count()
      const cases: Array<[Record<string, unknown>, Record<string, unknown>]> = [
        [{ ...CONFIG, 'database.colour': 'blue' }, { type: 'extra_forbidden', loc: ['body', 'config', 'database.colour'] }],
        [{ ...CONFIG, 'database.port.user.defined': 'fifty' }, { type: 'int_parsing', loc: ['body', 'config', 'database.port.user.defined'] }],
        [{ ...CONFIG, 'database.port.user.defined': 70000 }, { type: 'less_than_equal', loc: ['body', 'config', 'database.port.user.defined'], ctx: { le: 65535 } }],
        [{ ...CONFIG, 'database.port.user.defined': 54.5 }, { type: 'int_from_float' }],
        [{ ...CONFIG, 'snapshot.mode': 'sometimes' }, { type: 'enum', loc: ['body', 'config', 'snapshot.mode'] }],
        [{ ...CONFIG, 'heartbeat.enabled': 'perhaps' }, { type: 'bool_parsing', loc: ['body', 'config', 'heartbeat.enabled'] }],
        [{ ...CONFIG, 'database.user': 42 }, { type: 'string_type', loc: ['body', 'config', 'database.user'] }],
        [{ ...CONFIG, 'heartbeat.interval.ms': 10 }, { type: 'greater_than_equal', ctx: { ge: 1000 } }],
        [{ ...CONFIG, 'slot.name': 'Bad-Slot' }, { type: 'value_error', loc: ['body', 'config', 'slot.name'] }],
        [{ ...CONFIG, 'ssh.enabled': 'true' }, { type: 'value_error', loc: ['body', 'config', 'ssh.enabled'] }],
        [{ ...CONFIG, 'replication.timeout.ms': 50 }, { type: 'value_error', loc: ['body', 'config', 'replication.timeout.ms'], msg: expect.stringContaining('at least 1000') }],
        [{ ...CONFIG, 'table.include.list.user.defined': 'public.(orders' }, { type: 'value_error', loc: ['body', 'config', 'table.include.list.user.defined'] }],
        [{ ...CONFIG, 'database.dbname.user.defined': 'other' }, { type: 'value_error', loc: ['body', 'config', 'database.dbname.user.defined'] }],
      ]
      for (const [config, expected] of cases) {
        const res = await t.request('POST', '/sources', { token: admin(), body: sourceBody(`bad-${Math.random()}`, config) })
        expect(res.status, JSON.stringify(expected)).toBe(422)
        expect(res.body.detail).toHaveLength(1)
        expect(res.body.detail[0]).toMatchObject(expected)
        expect(res.body.detail[0]).toHaveProperty('msg')
        expect(res.body.detail[0]).toHaveProperty('input')
      }
      const { 'database.password': _p, 'database.dbname': _d, ...missing } = CONFIG
      const res = await t.request('POST', '/sources', { token: admin(), body: sourceBody('missing-db', missing) })
      expect(res.status).toBe(422)
      expect(res.body.detail.map((d: { loc: string[] }) => d.loc.join('.')).sort()).toEqual(['body.config.database.dbname', 'body.config.database.password'])
      expect(res.body.detail.every((d: { type: string; msg: string }) => d.type === 'missing' && d.msg === 'Field required')).toBe(true)
      expect(await count()).toBe(before)
    })

    it('validates the body itself: missing name, unknown connector, non-object config', async () => {
      const noName = await t.request('POST', '/sources', { token: admin(), body: { connector: 'postgresql', config: CONFIG } })
      expect(noName.body.detail[0]).toMatchObject({ type: 'missing', loc: ['body', 'name'] })
      const badConnector = await t.request('POST', '/sources', { token: admin(), body: { name: 'x', connector: 'oracle', config: {} } })
      expect(badConnector.status).toBe(422)
      expect(badConnector.body.detail[0].loc).toEqual(['body', 'connector'])
      const badConfig = await t.request('POST', '/sources', { token: admin(), body: { name: 'x', connector: 'postgresql', config: 'nope' } })
      expect(badConfig.status).toBe(422)
      expect(badConfig.body.detail[0].loc).toEqual(['body', 'config'])
    })

    it('refuses a duplicate name with 409, on create and on rename', async () => {
      await t.request('POST', '/sources', { token: admin(), body: sourceBody('dup-a') })
      const b = await t.request('POST', '/sources', { token: admin(), body: sourceBody('dup-b') })
      const dup = await t.request('POST', '/sources', { token: admin(), body: sourceBody('dup-a') })
      expect(dup.status).toBe(409)
      expect(dup.body.detail).toContain('already exists')
      const rename = await t.request('PUT', `/sources/${b.body.id}`, { token: admin(), body: sourceBody('dup-a') })
      expect(rename.status).toBe(409)
      expect((await t.request('GET', `/sources/${b.body.id}`, { token: admin() })).body.result[0].name).toBe('dup-b')
    })

    it('updates a source: redacted secrets are kept, set-once keys cannot change', async () => {
      const created = await t.request('POST', '/sources', { token: admin(), body: sourceBody('update-db') })
      const id = created.body.id
      const current = created.body.config
      const updated = await t.request('PUT', `/sources/${id}`, {
        token: admin(),
        body: sourceBody('update-db-2', { ...current, 'database.hostname': 'db2.example.internal' }),
      })
      expect(updated.status).toBe(200)
      expect(updated.body.name).toBe('update-db-2')
      expect(updated.body.config['database.hostname']).toBe('db2.example.internal')
      const secret = await t.request('GET', `/sources/${id}?secret_returned=true`, { token: admin() })
      expect(secret.body.result[0].config['database.password']).toBe('hunter2-secret')

      const slot = await t.request('PUT', `/sources/${id}`, { token: admin(), body: sourceBody('update-db-2', { ...current, 'slot.name': 'other_slot' }) })
      expect(slot.status).toBe(422)
      expect(slot.body.detail[0]).toMatchObject({ loc: ['body', 'config', 'slot.name'], type: 'value_error' })
      const pub = await t.request('PUT', `/sources/${id}`, { token: admin(), body: sourceBody('update-db-2', { ...current, 'publication.name': 'p2' }) })
      expect(pub.status).toBe(422)
      const after = await t.request('GET', `/sources/${id}`, { token: admin() })
      expect(after.body.result[0].config['slot.name']).toBe(`sluice_${id}`)
      expect((await t.request('PUT', '/sources/0123456789abcdef01234567', { token: admin(), body: sourceBody('zz') })).status).toBe(404)
    })

    it('lets Read Only read but not write', async () => {
      const ro = t.tokens.readOnly
      expect((await t.request('GET', '/sources', { token: ro })).status).toBe(200)
      const create = await t.request('POST', '/sources', { token: ro, body: sourceBody('ro-db') })
      expect(create.status).toBe(403)
      const any = (await t.request('GET', '/sources', { token: ro })).body.result[0]
      expect((await t.request('PUT', `/sources/${any.id}`, { token: ro, body: sourceBody('ro') })).status).toBe(403)
      expect((await t.request('DELETE', `/sources/${any.id}`, { token: ro })).status).toBe(403)
      // Data Admin may write.
      expect((await t.request('POST', '/sources', { token: t.tokens.dataAdmin, body: sourceBody('da-db') })).status).toBe(200)
    })

    it('paginates, sorts and filters', async () => {
      // Stopped sources keep their status, so the status filter below does not race with connection attempts.
      for (let i = 0; i < 12; i++) {
        await t.request('POST', '/sources', { token: admin(), body: { ...sourceBody(`page-${String(i).padStart(2, '0')}`), desired_state: 'Stopped' } })
      }
      const p1 = await t.request('GET', '/sources?partial_name=PAGE-&page_size=5&sort=name', { token: admin() })
      expect(p1.body).toMatchObject({ page: 1, page_size: 5, total: 12, has_next: true })
      expect(p1.body.result.map((s: { name: string }) => s.name)).toEqual(['page-00', 'page-01', 'page-02', 'page-03', 'page-04'])
      const p3 = await t.request('GET', '/sources?partial_name=page-&page_size=5&page=3&sort=name', { token: admin() })
      expect(p3.body).toMatchObject({ page: 3, total: 12, has_next: false })
      expect(p3.body.result).toHaveLength(2)
      const desc = await t.request('GET', '/sources?partial_name=page-&page_size=2&sort=name&sort_dir=desc', { token: admin() })
      expect(desc.body.result.map((s: { name: string }) => s.name)).toEqual(['page-11', 'page-10'])
      const byConnector = await t.request('GET', '/sources?connector=mysql,postgresql&partial_name=page-', { token: admin() })
      expect(byConnector.body.total).toBe(12)
      const none = await t.request('GET', '/sources?connector=mysql', { token: admin() })
      expect(none.body.total).toBe(0)
      const byStatus = await t.request('GET', '/sources?status=Stopped&partial_name=page-0', { token: admin() })
      expect(byStatus.body.total).toBe(10)
      expect((await t.request('GET', '/sources?status=Active,Broken&partial_name=page-0', { token: admin() })).body.total).toBe(0)
      const ids = p1.body.result.slice(0, 2).map((s: { id: string }) => s.id)
      const byId = await t.request('GET', `/sources?id=${ids.join(',')}`, { token: admin() })
      expect(byId.body.result.map((s: { id: string }) => s.id).sort()).toEqual([...ids].sort())

      const search = await t.request('POST', '/sources/search?page_size=3&sort=name', { token: admin(), body: { partial_name: 'page-1', connector: ['postgresql'] } })
      expect(search.status).toBe(200)
      expect(search.body.total).toBe(2)
      expect(search.body.result.map((s: { name: string }) => s.name)).toEqual(['page-10', 'page-11'])
      const noSnapshots = await t.request('GET', '/sources?snapshot=running', { token: admin() })
      expect(noSnapshots.body).toMatchObject({ total: 0, result: [] })
    })

    it('rejects bad list parameters with 422 naming the query field', async () => {
      const cases: Array<[string, Record<string, unknown>]> = [
        ['page_size=101', { type: 'less_than_equal', loc: ['query', 'page_size'] }],
        ['page=0', { type: 'greater_than_equal', loc: ['query', 'page'] }],
        ['page=abc', { type: 'int_parsing', loc: ['query', 'page'] }],
        ['sort=colour', { type: 'enum', loc: ['query', 'sort'] }],
        ['sort_dir=up', { type: 'enum', loc: ['query', 'sort_dir'] }],
        ['status=Sleeping', { type: 'enum', loc: ['query', 'status', 0] }],
        ['snapshot=done', { type: 'enum', loc: ['query', 'snapshot', 0] }],
      ]
      for (const [query, expected] of cases) {
        const res = await t.request('GET', `/sources?${query}`, { token: admin() })
        expect(res.status, query).toBe(422)
        expect(res.body.detail[0]).toMatchObject(expected)
      }
    })

    it('describes the postgresql connector config', async () => {
      const res = await t.request('GET', '/sources/connectors?connector_code=postgresql', { token: t.tokens.readOnly })
      expect(res.status).toBe(200)
      const props = res.body.PostgreSQL as Array<Record<string, any>>
      const byName = Object.fromEntries(props.map((p) => [p.name, p]))
      expect(byName['database.password']).toMatchObject({ encrypt: true, required: true })
      expect(byName['slot.name']).toMatchObject({ set_once: true })
      expect(byName['database.port'].value).toMatchObject({ control: 'number', default: 5432 })
      expect(byName['snapshot.mode'].value.raw_values).toEqual(['initial', 'initial_only', 'no_data', 'always', 'when_needed'])
      expect(byName['database.hostname'].aliases).toContain('database.hostname.user.defined')
      expect((await t.request('GET', '/sources/connectors', { token: admin() })).body).toHaveProperty('PostgreSQL')
      expect((await t.request('GET', '/sources/connectors?connector_code=db2', { token: admin() })).status).toBe(404)
    })

    it('deploys a source, and applies lifecycle actions in bulk with a result per source', async () => {
      const a = (await t.request('POST', '/sources', { token: admin(), body: sourceBody('bulk-a') })).body
      const b = (await t.request('POST', '/sources', { token: admin(), body: sourceBody('bulk-b') })).body
      const unknown = '0123456789abcdef01234567'
      const paused = await t.request('POST', '/sources/bulk/pause', { token: admin(), body: { ids: [a.id, b.id, unknown] } })
      expect(paused.status).toBe(200)
      expect(paused.body.summary).toEqual({ total: 3, succeeded: 2, failed: 1 })
      expect(paused.body.results[0]).toMatchObject({ id: a.id, success: true, message: 'Source paused', data: { desired_state: 'Paused' } })
      expect(paused.body.results[2]).toMatchObject({ id: unknown, success: false })
      expect(paused.body.results[2].message).toMatch(/not found/i)
      expect((await t.request('GET', `/sources/${b.id}`, { token: admin() })).body.result[0].desired_state).toBe('Paused')

      // Deploy restarts the connector with its stored config and keeps the desired state.
      const deployed = await t.request('POST', `/sources/${a.id}/deploy`, { token: admin() })
      expect(deployed.status).toBe(200)
      expect(deployed.body).toMatchObject({ id: a.id, desired_state: 'Paused', connector_status: 'Paused', config: { 'database.password': '********' } })
      expect((await t.request('POST', `/sources/${unknown}/deploy`, { token: admin() })).status).toBe(404)

      const stopped = await t.request('POST', '/sources/bulk/stop', { token: admin(), body: { ids: [b.id] } })
      expect(stopped.body.results).toEqual([expect.objectContaining({ id: b.id, success: true, message: 'Source stopped' })])
      const bad = await t.request('POST', '/sources/bulk/resume', { token: admin(), body: { ids: 'all' } })
      expect(bad.status).toBe(422)
      expect(bad.body.detail[0].loc).toEqual(['body', 'ids'])
      expect((await t.request('POST', '/sources/bulk/reset', { token: admin(), body: { ids: [a.id] } })).status).toBe(404)
      expect((await t.request('POST', '/sources/bulk/resume', { token: t.tokens.readOnly, body: { ids: [a.id] } })).status).toBe(403)
      expect((await t.request('POST', `/sources/${a.id}/deploy`, { token: t.tokens.readOnly })).status).toBe(403)
      expect((await t.request('GET', `/sources/${a.id}`, { token: admin() })).body.result[0].desired_state).toBe('Paused')
      for (const id of [a.id, b.id]) await t.request('DELETE', `/sources/${id}`, { token: admin() })
    })

    it('deletes a source', async () => {
      const created = await t.request('POST', '/sources', { token: admin(), body: sourceBody('delete-me') })
      const res = await t.request('DELETE', `/sources/${created.body.id}`, { token: admin() })
      expect(res.status).toBe(200)
      expect(res.body.id).toBe(created.body.id)
      // The database in CONFIG does not exist, so the slot cannot be dropped: the response says so, with the fix.
      expect(res.body.cleanup_warnings).toHaveLength(1)
      expect(res.body.cleanup_warnings[0]).toContain(`pg_drop_replication_slot('sluice_${created.body.id}')`)
      expect((await t.request('GET', `/sources/${created.body.id}`, { token: admin() })).status).toBe(404)
      expect((await t.request('DELETE', `/sources/${created.body.id}`, { token: admin() })).status).toBe(404)
    })
  })
}
