import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiClient, adminClient } from '../../harness/api-client.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type TestSluice, startTestSluice } from '../../harness/sluice.js'
import { createSource, pgSourceConfig, waitForStatus } from '../../harness/sources.js'
import { waitFor } from '../../harness/wait-for.js'
import { createWorkloadTable, startWorkload } from '../../harness/workload.js'
import type { DestinationRecord, DestinationWriter } from '../../../src/connectors/destinations/destination.js'
import { createDestination, createPipeline, openPostgresqlWriter, pgDestinationConfig, waitForEqualTables } from './delivery-helpers.js'

describe('a destination that is down for a while', () => {
  let source: TestPostgres
  let target: TestPostgres
  let t: TestSluice
  let api: ApiClient

  beforeAll(async () => {
    ;[source, target] = await Promise.all([startPostgres(), startPostgres()])
    await target.createDatabase('target')
    await createWorkloadTable(source, 'accounts')
    await source.query("INSERT INTO accounts SELECT g, 1, 'seed' || g FROM generate_series(1, 1000) g")
    t = await startTestSluice()
    api = adminClient(t)
  })
  afterAll(async () => {
    await t?.stop()
    await Promise.all([source?.destroy(), target?.destroy()])
  })

  it('reports Broken with the reason while down, then catches up with nothing lost', async () => {
    const sourceId = await createSource(api, pgSourceConfig(source, { 'snapshot.mode': 'initial' }))
    const destinationId = await createDestination(api, pgDestinationConfig(target, 'target', { 'batch.size': 100 }))
    await createPipeline(api, sourceId, destinationId)
    await waitForStatus(api, sourceId, 'Active')
    await waitForEqualTables({ source, target, database: 'target', table: 'accounts' })

    await target.stop()
    const workload = startWorkload(source, { table: 'accounts', workers: 2, transactionsPerWorker: 150, maxOpsPerTransaction: 4 })
    const broken = await waitFor(
      async () => (await api.request('GET', `/destinations/${destinationId}`)).body.result[0],
      (d: any) => d.connector_status === 'Broken',
      { timeoutMs: 60_000, message: 'destination Broken while its server is down' },
    )
    expect(broken.status_reason).toEqual(expect.any(String))
    expect(broken.task_statuses['0'].state).toBe('FAILED')
    await workload.done
    expect(workload.changes.filter((c) => c.op === 'd').length).toBeGreaterThan(0)

    await target.start()
    await waitForEqualTables({ source, target, database: 'target', table: 'accounts' })
    await waitFor(
      async () => (await api.request('GET', `/destinations/${destinationId}`)).body.result[0].connector_status,
      (s) => s === 'Active',
      { timeoutMs: 60_000, message: 'destination Active again' },
    )
  })

  /** A new source → destination pipeline of accounts, with a workload writing to the source. */
  async function deliverUnderWorkload(destinationConfig: Record<string, unknown>, seed: number) {
    const sourceId = await createSource(api, pgSourceConfig(source, { 'snapshot.mode': 'initial', 'table.include.list': 'public.accounts' }))
    const destinationId = await createDestination(api, pgDestinationConfig(target, 'target', { 'batch.size': 100, ...destinationConfig }))
    await createPipeline(api, sourceId, destinationId)
    await waitForStatus(api, sourceId, 'Active')
    const workload = startWorkload(source, { table: 'accounts', workers: 2, transactionsPerWorker: 300, maxOpsPerTransaction: 4, seed })
    await waitFor(() => workload.committedTransactions, (n) => n >= 50, { timeoutMs: 60_000, message: 'writes flowing' })
    return { destinationId, workload }
  }

  it('a destination that stops answering: a restart answers, and delivery catches up once it answers again', async () => {
    const { destinationId, workload } = await deliverUnderWorkload({}, 11)

    // Delivery is mid-batch on a connection that no longer answers; the harness gives up on a call after 60 s.
    const restart = await target.whileFrozen(() => api.request('POST', `/destinations/${destinationId}/actions/restart`))
    expect(restart.status).toBe(200)
    await workload.done
    await waitForEqualTables({ source, target, database: 'target', table: 'accounts' })
  })

  it('a target that stops answering mid-batch is reported Broken with the reason, and catches up once it answers', async () => {
    const { destinationId, workload } = await deliverUnderWorkload({ 'server.check.interval.ms': 1000 }, 13)

    const broken = await target.whileFrozen(() => waitFor(
      async () => (await api.request('GET', `/destinations/${destinationId}`)).body.result[0],
      (d: any) => d.connector_status === 'Broken',
      { timeoutMs: 60_000, message: 'destination Broken while its server does not answer' },
    ))
    expect(broken.status_reason).toMatch(/did not answer a check/)
    await workload.done
    await waitForEqualTables({ source, target, database: 'target', table: 'accounts' })
  })

  it('a target that stops answering before a batch opens its connection is reported with the same reason', async () => {
    // A new writer has no connection yet: its first batch must open one while the server does not answer.
    const opened: DestinationWriter[] = []
    try {
      const writer = await openPostgresqlWriter(target, 'target', { 'server.check.interval.ms': 1000 }, opened)
      const record: DestinationRecord = { topic: 'src.public.frozen_probe', partition: 0, offset: 0, key: { id: 1 }, valueSchema: null,
        value: { before: null, after: { id: 1 }, source: { schema: 'public', table: 'frozen_probe', lsn: 1, ts_ms: 1 }, op: 'c', ts_ms: 1 } }
      const failure = await target.whileFrozen(() => writer.write([record], new AbortController().signal).then(() => null, (err: unknown) => err))
      expect(failure).toBeInstanceOf(Error)
      expect((failure as Error).message).toMatch(/did not answer a check/)
    } finally {
      await Promise.all(opened.map((w) => w.close()))
    }
  })
})
