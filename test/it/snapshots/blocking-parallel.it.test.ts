/**
 * A blocking snapshot with `snapshot.max.threads: 3`: three connections import one exported snapshot and share the
 * CTID chunk queue, so chunks finish out of order. Every row must still be read exactly once, and the table rebuilt
 * from its topic must equal the source.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminClient, type ApiClient } from '../../harness/api-client.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type TestSluice, startTestSluice } from '../../harness/sluice.js'
import { createSource, pgSourceConfig, topicOf, waitForStatus } from '../../harness/sources.js'
import { changeEvents, readTopic, rebuildTable } from '../../harness/topic-reader.js'
import { waitFor } from '../../harness/wait-for.js'
import { tableRows } from '../../harness/workload.js'

/** ~600-byte rows: about 13 per 8 kB page, so 1024-block chunks hold ~13,000 rows and the table spans 5 chunks. */
const ROWS = 60_000

describe('blocking snapshot with parallel chunk readers', () => {
  let pg: TestPostgres
  let t: TestSluice
  let api: ApiClient

  beforeAll(async () => {
    pg = await startPostgres()
    await pg.query('CREATE TABLE wide (id int PRIMARY KEY, version int NOT NULL, payload text NOT NULL)')
    // md5 text does not compress, so rows stay ~600 bytes in the heap rather than shrinking under TOAST.
    await pg.query(`INSERT INTO wide SELECT g, 1, repeat(md5(g::text), 18) FROM generate_series(1, ${ROWS}) g`)
    await pg.query('CREATE TABLE tail (id int PRIMARY KEY, version int NOT NULL, payload text NOT NULL)')
    await pg.query("INSERT INTO tail SELECT g, 1, 'tail' || g FROM generate_series(1, 5000) g")
    await pg.query('ANALYZE wide, tail')
    t = await startTestSluice()
    api = adminClient(t)
  })
  afterAll(async () => {
    await t?.stop()
    await pg?.destroy()
  })

  it('reads every row exactly once with 3 threads; the rebuilt tables equal the source', async () => {
    const blocks = (await pg.query("SELECT pg_relation_size('wide') / 8192 AS n")).rows[0].n
    expect(Number(blocks)).toBeGreaterThan(3 * 1024)
    const id = await createSource(api, pgSourceConfig(pg, { 'table.include.list': 'public.wide,public.tail', 'snapshot.max.threads': 3 }))
    await waitForStatus(api, id, 'Active')
    const res = await api.request('POST', '/sources/snapshot', { source_id: id, snapshot_type: 'blocking' })
    expect(res.status).toBe(200)
    const run = await waitFor(async () => (await api.request('GET', `/sources/${id}/snapshots`)).body.result[0], (r) => r.status === 'completed' || r.status === 'failed', { timeoutMs: 120_000, message: 'blocking snapshot finished' })
    expect(run.status).toBe('completed')
    const progress = run.tables.map((tb: any) => [tb.table, tb.status, tb.rows_read]).sort()
    expect(progress).toEqual([['tail', 'completed', 5000], ['wide', 'completed', ROWS]])

    // A change after the snapshot streams as usual.
    await pg.query("UPDATE tail SET version = 2, payload = 'after' WHERE id = 1")
    for (const [table, rows] of [['wide', ROWS], ['tail', 5000]] as const) {
      const expected = await tableRows(pg, table)
      const records = await waitFor(() => readTopic(api, topicOf(id, table)), (r) => JSON.stringify(rebuildTable(r)) === JSON.stringify(expected), { timeoutMs: 60_000, message: `rebuilt ${table} equals source` })
      expect(rebuildTable(records)).toEqual(expected)
      const reads = changeEvents(records).filter((e) => e.op === 'r')
      const perKey = new Map<number, number>()
      for (const e of reads) perKey.set(e.after.id, (perKey.get(e.after.id) ?? 0) + 1)
      expect(reads).toHaveLength(rows)
      expect(perKey.size).toBe(rows)
      expect([...perKey.values()].filter((n) => n !== 1)).toEqual([])
    }
    // Debezium's markers survive out-of-order chunks: one `first` for the run, one `last` at its very end.
    const all = [...changeEvents(await readTopic(api, topicOf(id, 'wide'))), ...changeEvents(await readTopic(api, topicOf(id, 'tail')))].filter((e) => e.op === 'r')
    expect(all.filter((e) => e.source.snapshot === 'first')).toHaveLength(1)
    expect(all.filter((e) => e.source.snapshot === 'last')).toHaveLength(1)
    const lastTable = run.tables.at(-1).table
    expect(changeEvents(await readTopic(api, topicOf(id, lastTable))).filter((e) => e.op === 'r').at(-1).source.snapshot).toBe('last')
  })
})
