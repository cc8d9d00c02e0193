/**
 * At-least-once delivery under the harshest stop: Sluice runs as a child process and is killed with SIGKILL while a
 * pipeline delivers a snapshot and a concurrent write workload to a PostgreSQL destination, twice; the source keeps
 * being written to while Sluice is down. After each restart the destination must equal the source row for row
 * (redelivered batches are absorbed by the idempotent writer).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type SluiceProcess, startSluiceProcess } from '../../harness/sluice-process.js'
import { createSource, pgSourceConfig, waitForStatus } from '../../harness/sources.js'
import { waitFor } from '../../harness/wait-for.js'
import { createWorkloadTable, startWorkload } from '../../harness/workload.js'
import { createDestination, createPipeline, pgDestinationConfig, targetRows, waitForEqualTables } from './delivery-helpers.js'

describe('pipeline delivery: kill -9 of Sluice while delivering', () => {
  let pg: TestPostgres
  let dataDir: string
  let sluice: SluiceProcess | undefined

  beforeAll(async () => {
    pg = await startPostgres()
    await pg.createDatabase('target')
    await createWorkloadTable(pg, 'accounts')
    await pg.query("INSERT INTO accounts SELECT g, 1, 'seed' || g FROM generate_series(1, 20000) g")
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-delivery-crash-'))
  })
  afterAll(async () => {
    await sluice?.crash()
    await pg?.destroy()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('leaves the destination equal to the source after each kill and restart', async () => {
    sluice = await startSluiceProcess(dataDir)
    const sourceId = await createSource(sluice.api, pgSourceConfig(pg, { 'snapshot.mode': 'initial' }))
    const destinationId = await createDestination(sluice.api, pgDestinationConfig(pg, 'target', { 'batch.size': 250 }))
    await createPipeline(sluice.api, sourceId, destinationId)

    // First kill in the middle of the snapshot's delivery, then in the middle of streamed writes.
    for (const [round, killAtRows] of [1000, 15000].entries()) {
      const workload = startWorkload(pg, { table: 'accounts', workers: 2, seed: round + 1 })
      await waitFor(
        async () => ({ rows: (await targetRows(pg, 'target', 'accounts')).length, transactions: workload.committedTransactions }),
        (p) => p.rows >= killAtRows && (round === 0 || p.transactions >= 100),
        { timeoutMs: 120_000, intervalMs: 20, message: `round ${round}: ${killAtRows} rows delivered` },
      )
      const atKill = workload.committedTransactions
      await sluice.crash()
      await waitFor(() => workload.committedTransactions, (n) => n >= atKill + 100, { timeoutMs: 60_000, message: 'writes after the kill' })
      await workload.stop()

      sluice = await startSluiceProcess(dataDir)
      await waitForStatus(sluice.api, sourceId, 'Active')
      const rows = await waitForEqualTables({ source: pg, target: pg, database: 'target', table: 'accounts', timeoutMs: 180_000 })
      expect(rows.length).toBeGreaterThan(15000)
    }
  })
})
