import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type TestSluice, startTestSluice } from '../../harness/sluice.js'
import { waitFor } from '../../harness/wait-for.js'

describe('streaming smoke', () => {
  let pg: TestPostgres
  let t: TestSluice
  beforeAll(async () => {
    pg = await startPostgres()
    await pg.query('CREATE TABLE public.items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2))')
    t = await startTestSluice()
  })
  afterAll(async () => {
    await t?.stop()
    await pg?.destroy()
  })

  it('streams inserts, updates and deletes into a topic', async () => {
    const created = await t.request('POST', '/sources', {
      token: t.tokens.admin,
      body: { name: 'smoke', connector: 'postgresql', config: { 'database.hostname': '127.0.0.1', 'database.port': pg.port, 'database.user': pg.user, 'database.password': pg.password, 'database.dbname': 'postgres', 'schema.include.list': 'public', 'snapshot.mode': 'no_data' } },
    })
    expect(created.status).toBe(200)
    const id = created.body.id
    await waitFor(async () => (await t.request('GET', `/sources/${id}`, { token: t.tokens.admin })).body.result[0], (s) => s.connector_status === 'Active', { message: 'source Active' })
    await pg.query("INSERT INTO items VALUES (1, 'apple', 1.50), (2, 'pear', 2.25)")
    await pg.query("UPDATE items SET name = 'green apple' WHERE id = 1")
    await pg.query('DELETE FROM items WHERE id = 2')
    const topic = `source_${id}.public.items`
    const messages: any[] = await waitFor(async () => (await t.request('GET', `/topics/${topic}/messages`, { token: t.tokens.admin })).body?.result ?? [], (r: unknown[]) => r.length >= 5, { message: 'five records' })
    expect(messages.map((m: any) => m.value?.op ?? null)).toEqual(['c', 'c', 'u', 'd', null])
    expect(messages[0].key).toEqual({ id: 1 })
    expect(messages[2].value.after).toMatchObject({ id: 1, name: 'green apple' })
    const metrics = await t.request('GET', `/sources/${id}/metrics`, { token: t.tokens.admin })
    expect(metrics.body.data).toMatchObject({ StreamingConnected: 1, StreamingTotalNumberOfCreateEventsSeen: 2 })
    const del = await t.request('DELETE', `/sources/${id}`, { token: t.tokens.admin })
    expect(del.body.cleanup_warnings).toEqual([])
    expect((await pg.query('SELECT count(*)::int AS n FROM pg_replication_slots')).rows[0].n).toBe(0)
  })
})
