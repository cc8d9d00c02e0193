/**
 * DESIGN.md guarantee 1 under the harshest stop: Sluice runs as a child process and is killed with SIGKILL while a
 * concurrent write burst runs (at three different points), keeps being written to while it is down, and is started
 * again on the same data directory. Every committed change must then be in the topic (duplicates allowed), and the
 * table rebuilt from the topic must equal the source table row for row.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type SluiceProcess, startSluiceProcess } from '../../harness/sluice-process.js'
import { confirmedFlush, createSource, pgSourceConfig, slotOf, topicOf, waitForStatus } from '../../harness/sources.js'
import { latestOffset, readTopic, rebuildTable } from '../../harness/topic-reader.js'
import { waitFor } from '../../harness/wait-for.js'
import {
  type CommittedChange,
  createWorkloadTable,
  startWorkload,
  tableRows,
  waitForChanges,
} from '../../harness/workload.js'

const TABLE = 'public.burst'

describe('streaming: kill -9 of Sluice during a write burst', () => {
  let pgServer: TestPostgres
  let dataDir: string
  let sluice: SluiceProcess | undefined

  beforeAll(async () => {
    pgServer = await startPostgres()
    await createWorkloadTable(pgServer, TABLE)
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-crash-'))
  })
  afterAll(async () => {
    await sluice?.crash()
    await pgServer?.destroy()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('has every committed change in the topic after each of three kills', async () => {
    sluice = await startSluiceProcess(dataDir)
    const id = await createSource(sluice.api, pgSourceConfig(pgServer, { 'table.include.list': TABLE }))
    await waitForStatus(sluice.api, id, 'Active')
    const topic = topicOf(id, 'burst')
    const { slot } = slotOf(id)
    const committed: CommittedChange[] = []

    // Kill early in a burst, in its middle, and once a lot has been acknowledged.
    for (const [round, killAfterRecords] of [30, 400, 1500].entries()) {
      const api = sluice.api
      const startOffset = await latestOffset(api, topic)
      const startFlush = await confirmedFlush(pgServer, slot)
      const workload = startWorkload(pgServer, { table: TABLE, workers: 2, seed: round + 1 })
      // Kill only once Sluice has made records durable *and* acknowledged a position to the slot.
      await waitFor(
        async () => ({ offset: await latestOffset(api, topic), flush: await confirmedFlush(pgServer, slot) }),
        (p) => p.offset >= startOffset + killAfterRecords && p.flush > startFlush,
        { timeoutMs: 90_000, intervalMs: 20, message: `round ${round}: ${killAfterRecords} records durable and acknowledged` },
      )
      const atKill = workload.committedTransactions
      await sluice.crash()
      // The burst goes on while Sluice is dead: these changes wait in the slot.
      await waitFor(() => workload.committedTransactions, (n) => n >= atKill + 200, {
        timeoutMs: 60_000,
        message: 'writes after the kill',
      })
      await workload.stop()
      committed.push(...workload.changes)
      expect(workload.uncertainTransactions).toBe(0)

      sluice = await startSluiceProcess(dataDir)
      await waitForStatus(sluice.api, id, 'Active')
      await waitForChanges(sluice.api, topic, committed)
      const records = await readTopic(sluice.api, topic)
      expect(rebuildTable(records)).toEqual(await tableRows(pgServer, TABLE))
    }
    expect(committed.length).toBeGreaterThan(1500)
    expect(new Set(committed.map((c) => c.op))).toEqual(new Set(['c', 'u', 'd']))
  })
})
