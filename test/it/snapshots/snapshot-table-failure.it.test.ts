/**
 * A table whose snapshot fails every time — here a row whose event is larger than its topic's max.message.bytes —
 * must not restart the source for ever: each attempt of a blocking snapshot would append the chunk's rows up to that
 * row again while streaming stays paused (the slot retaining WAL); an incremental snapshot's chunk fails in the stream
 * and restarts the source each time. After a few attempts the table is marked failed with the run's reason saying why,
 * the other tables complete, and streaming resumes.
 */
import { describe, expect, it } from 'vitest'
import { latestRun, useSourceEnvironment } from '../../harness/source-environment.js'
import { createSource, pgSourceConfig, topicOf, waitForStatus } from '../../harness/sources.js'
import { changeEvents, readTopic } from '../../harness/topic-reader.js'
import { waitFor } from '../../harness/wait-for.js'

const ROWS = 3000
const POISON_ID = 1500

describe('a snapshot table that keeps failing', () => {
  const env = useSourceEnvironment(async (pg) => {
    await pg.query('CREATE TABLE poisoned (id int PRIMARY KEY, payload text NOT NULL)')
    await pg.query(`INSERT INTO poisoned SELECT g, CASE WHEN g = ${POISON_ID} THEN repeat('p', 1200000) ELSE 'row-' || g END FROM generate_series(1, ${ROWS}) g`)
    await pg.query('CREATE TABLE healthy (id int PRIMARY KEY, payload text NOT NULL)')
    await pg.query("INSERT INTO healthy SELECT g, 'row-' || g FROM generate_series(1, 500) g")
    await pg.query('CREATE TABLE poisoned_inc (id int PRIMARY KEY, payload text NOT NULL)')
    await pg.query(`INSERT INTO poisoned_inc SELECT g, CASE WHEN g = ${POISON_ID} THEN repeat('p', 1200000) ELSE 'row-' || g END FROM generate_series(1, ${ROWS}) g`)
  })

  it('is marked failed after a few attempts; the other table completes and streaming resumes', async () => {
    const { pg, api } = env
    const id = await createSource(api, pgSourceConfig(pg, { 'table.include.list': 'public.poisoned,public.healthy' }))
    await waitForStatus(api, id, 'Active')
    const res = await api.request('POST', '/sources/snapshot', { source_id: id, snapshot_type: 'blocking' })
    expect(res.status).toBe(200)

    const run = await waitFor(() => latestRun(api, id), (r) => r.status === 'failed', { timeoutMs: 120_000, message: 'snapshot run failed' })
    expect(Object.fromEntries(run.tables.map((t: any) => [t.table, t.status]))).toEqual({ poisoned: 'failed', healthy: 'completed' })
    expect(run.reason).toContain('poisoned')
    expect(run.reason).toContain('maxMessageBytes')
    expect(run.reason).toContain('5 attempts')

    // Streaming resumed: a change made now reaches the topic, and the healthy table was read in full.
    await waitForStatus(api, id, 'Active')
    await pg.query("INSERT INTO healthy VALUES (501, 'after')")
    const healthy = await waitFor(async () => changeEvents(await readTopic(api, topicOf(id, 'healthy'))), (events) => events.some((e) => e.op === 'c' && e.after.id === 501), { timeoutMs: 60_000, message: 'streamed insert after the failed snapshot' })
    expect(new Set(healthy.filter((e) => e.op === 'r').map((e) => e.after.id)).size).toBe(500)
    // Each attempt appended at most the rows before the poisoned one again: bounded, not for ever.
    const reads = changeEvents(await readTopic(api, topicOf(id, 'poisoned'))).filter((e) => e.op === 'r')
    expect(reads.length).toBeLessThanOrEqual(5 * POISON_ID)
    expect(reads.some((e) => e.after.id === POISON_ID)).toBe(false)
  })

  it('in an incremental snapshot, is marked failed after a few attempts at its chunk, and the source keeps streaming', async () => {
    const { pg, api } = env
    const id = await createSource(api, pgSourceConfig(pg, { 'table.include.list': 'public.poisoned_inc', 'incremental.snapshot.chunk.size': 500 }))
    await waitForStatus(api, id, 'Active')
    expect((await api.request('POST', '/sources/snapshot', { source_id: id })).status).toBe(200)

    const run = await waitFor(() => latestRun(api, id), (r) => r.status === 'failed', { timeoutMs: 120_000, message: 'incremental run failed' })
    expect(run.tables[0].status).toBe('failed')
    expect(run.reason).toContain('poisoned_inc')
    expect(run.reason).toContain('5 times')
    // The chunks before the poisoned one were read, once each, and the source streams again.
    await waitForStatus(api, id, 'Active')
    await pg.query("INSERT INTO poisoned_inc VALUES (0, 'after')")
    const events = await waitFor(async () => changeEvents(await readTopic(api, topicOf(id, 'poisoned_inc'))), (e) => e.some((x) => x.op === 'c' && x.after.id === 0), { timeoutMs: 60_000, message: 'streamed insert after the failed snapshot' })
    const reads = events.filter((e) => e.op === 'r').map((e) => e.after.id)
    expect(new Set(reads).size).toBe(reads.length)
    expect(reads.length).toBe(1000)
  })
})
