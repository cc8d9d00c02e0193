/**
 * PostgreSQL restarts under a streaming source: the source reports Broken with a reason while the server is gone,
 * comes back to Active on its own, and no committed change is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiClient, adminClient } from '../../harness/api-client.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type TestSluice, startTestSluice } from '../../harness/sluice.js'
import { createSource, pgSourceConfig, topicOf, waitForStatus } from '../../harness/sources.js'
import { latestOffset, readTopic, rebuildTable } from '../../harness/topic-reader.js'
import { waitFor } from '../../harness/wait-for.js'
import { createWorkloadTable, startWorkload, tableRows, waitForChanges } from '../../harness/workload.js'

const TABLE = 'public.stock'

describe('streaming: PostgreSQL restart mid-stream', () => {
  let pgServer: TestPostgres
  let t: TestSluice
  let api: ApiClient

  beforeAll(async () => {
    pgServer = await startPostgres()
    await createWorkloadTable(pgServer, TABLE)
    t = await startTestSluice()
    api = adminClient(t)
  })
  afterAll(async () => {
    await t?.stop()
    await pgServer?.destroy()
  })

  it('goes Broken while the server is down, recovers on its own and loses nothing', async () => {
    const id = await createSource(api, pgSourceConfig(pgServer, { 'table.include.list': TABLE }))
    await waitForStatus(api, id, 'Active')
    const topic = topicOf(id, 'stock')
    const workload = startWorkload(pgServer, { table: TABLE, workers: 2, seed: 3 })
    await waitFor(() => latestOffset(api, topic), (n) => n >= 200, { timeoutMs: 60_000, message: 'writes flowing' })

    await pgServer.stop()
    const broken = await waitForStatus(api, id, 'Broken')
    expect(broken.status_reason).toMatch(/connect|terminat|shut|ended|ECONNREFUSED/i)
    expect(broken.task_statuses['0']).toMatchObject({ state: 'FAILED', trace: broken.status_reason })

    await pgServer.start()
    await waitForStatus(api, id, 'Active', 90_000)
    const afterRestart = workload.committedTransactions
    await waitFor(() => workload.committedTransactions, (n) => n >= afterRestart + 100, {
      timeoutMs: 60_000,
      message: 'writes after the restart',
    })
    await workload.stop()

    // A COMMIT cut off by the shutdown has an unknown outcome; the workload skips those, the rebuild covers them.
    await waitForChanges(api, topic, workload.changes)
    // Changes of transactions with an unknown outcome are not in `workload.changes`: wait for the table to match.
    const rebuilt = async () => JSON.stringify(rebuildTable(await readTopic(api, topic)))
    const source = async () => JSON.stringify(await tableRows(pgServer, TABLE))
    await waitFor(async () => (await rebuilt()) === (await source()), (same) => same, {
      timeoutMs: 30_000,
      intervalMs: 500,
      message: 'rebuilt table equals the source table',
    })
    expect(rebuildTable(await readTopic(api, topic))).toEqual(await tableRows(pgServer, TABLE))
  })

  it('a server that stops answering is reported Broken within replication.timeout.ms; streaming resumes once it answers', async () => {
    const id = await createSource(api, pgSourceConfig(pgServer, { 'table.include.list': TABLE, 'replication.timeout.ms': 3000 }))
    await waitForStatus(api, id, 'Active')
    const topic = topicOf(id, 'stock')
    const workload = startWorkload(pgServer, { table: TABLE, workers: 2, seed: 5 })
    await waitFor(() => workload.committedTransactions, (n) => n >= 50, { timeoutMs: 60_000, message: 'writes flowing' })

    // Frozen, the server keeps every connection open and answers nothing: only the liveness probe can tell.
    const broken = await pgServer.whileFrozen(() => waitForStatus(api, id, 'Broken', 60_000))
    expect(broken.status_reason).toMatch(/no message from the server for \d+ s/)

    await waitForStatus(api, id, 'Active', 90_000)
    const afterThaw = workload.committedTransactions
    await waitFor(() => workload.committedTransactions, (n) => n >= afterThaw + 50, { timeoutMs: 60_000, message: 'writes after the thaw' })
    await workload.stop()
    await waitForChanges(api, topic, workload.changes)
  })
})
