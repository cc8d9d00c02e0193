/**
 * A clean restart of Sluice (SIGTERM, then start on the same data directory) resumes from the stored offset: no
 * committed change is missing, and at most a bounded tail is delivered twice (none at all when Sluice had caught
 * up before it stopped).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type SluiceProcess, startSluiceProcess } from '../../harness/sluice-process.js'
import { confirmedFlush, createSource, pgSourceConfig, slotOf, topicOf, waitForStatus } from '../../harness/sources.js'
import { type TopicRecord, latestOffset, readTopic, rebuildTable, waitForRecords } from '../../harness/topic-reader.js'
import { waitFor } from '../../harness/wait-for.js'
import {
  type CommittedChange,
  createWorkloadTable,
  startWorkload,
  tableRows,
  waitForChanges,
} from '../../harness/workload.js'

const TABLE = 'public.orders'

const identity = (r: TopicRecord) => {
  const { source, op } = r.value
  return `${source.txId}:${source.lsn}:${op}:${JSON.stringify(r.key)}`
}

/** Change events that repeat an earlier one (same transaction, LSN, op and key). */
function duplicates(records: TopicRecord[]): TopicRecord[] {
  const seen = new Set<string>()
  return records.filter((r) => {
    if (r.value === null) return false
    if (seen.has(identity(r))) return true
    seen.add(identity(r))
    return false
  })
}

/**
 * Commit LSN of each transaction in a stretch of records read by one run of the streaming phase: the next
 * transaction's `source.sequence[0]` (its "last commit LSN"). The last transaction's is unknown.
 */
function commitLsns(records: TopicRecord[]): Map<number, bigint | undefined> {
  const order: Array<{ txId: number; lastCommit: bigint | null }> = []
  for (const r of records) {
    if (r.value === null || order.at(-1)?.txId === r.value.source.txId) continue
    const [lastCommit] = JSON.parse(r.value.source.sequence) as [string | null, string]
    order.push({ txId: r.value.source.txId, lastCommit: lastCommit === null ? null : BigInt(lastCommit) })
  }
  return new Map(order.map((tx, i) => [tx.txId, order[i + 1]?.lastCommit ?? undefined]))
}

describe('streaming: clean restart of Sluice', () => {
  let pgServer: TestPostgres
  let dataDir: string
  let sluice: SluiceProcess | undefined

  beforeAll(async () => {
    pgServer = await startPostgres()
    await createWorkloadTable(pgServer, TABLE)
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-restart-'))
  })
  afterAll(async () => {
    await sluice?.crash()
    await pgServer?.destroy()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('resumes from the stored offset with no gap and few duplicates', async () => {
    sluice ??= await startSluiceProcess(dataDir)
    const id = await createSource(sluice.api, pgSourceConfig(pgServer, { 'table.include.list': TABLE }))
    await waitForStatus(sluice.api, id, 'Active')
    const topic = topicOf(id, 'orders')
    const committed: CommittedChange[] = []

    // 1. Stopped while idle and caught up: nothing is delivered twice.
    const quiet = startWorkload(pgServer, { table: TABLE, workers: 2, transactionsPerWorker: 100, seed: 7 })
    await quiet.done
    committed.push(...quiet.changes)
    await waitForChanges(sluice.api, topic, committed)
    const beforeStop = await latestOffset(sluice.api, topic)
    expect(await sluice.stop()).toBe(0)
    sluice = await startSluiceProcess(dataDir)
    await waitForStatus(sluice.api, id, 'Active')
    await pgServer.query(`INSERT INTO ${TABLE} VALUES (-1, 1, 'marker')`)
    committed.push({ op: 'c', id: -1, version: 1 })
    const afterMarker = await waitForRecords(sluice.api, topic, beforeStop, 1)
    expect(afterMarker.map((r) => r.value.after)).toEqual([{ id: -1, version: 1, payload: 'marker' }])

    // 2. Stopped while writes flow: nothing lost, and only what the slot had not been told is durable repeats.
    const busy = startWorkload(pgServer, { table: TABLE, workers: 2, seed: 8 })
    const second = sluice.api
    const busyStart = await latestOffset(second, topic)
    await waitFor(() => latestOffset(second, topic), (n) => n >= busyStart + 300, {
      timeoutMs: 60_000,
      message: 'busy burst streaming',
    })
    expect(await sluice.stop()).toBe(0)
    const confirmedAtStop = await confirmedFlush(pgServer, slotOf(id).slot)
    const atStop = busy.committedTransactions
    await waitFor(() => busy.committedTransactions, (n) => n >= atStop + 100, {
      timeoutMs: 60_000,
      message: 'writes while stopped',
    })
    await busy.stop()
    committed.push(...busy.changes)

    sluice = await startSluiceProcess(dataDir)
    await waitForStatus(sluice.api, id, 'Active')
    await waitForChanges(sluice.api, topic, committed)
    const records = await readTopic(sluice.api, topic)
    expect(rebuildTable(records)).toEqual(await tableRows(pgServer, TABLE))

    expect(duplicates(records.filter((r) => r.offset < busyStart))).toEqual([])
    const repeated = duplicates(records)
    // A restarted run first re-reads what the slot had not confirmed, so the first repeat marks where it began.
    const restartOffset = repeated[0]?.offset ?? records.length
    const commits = commitLsns(records.filter((r) => r.offset >= busyStart && r.offset < restartOffset))
    // Nothing the slot had confirmed is read again: every repeated transaction committed after that position…
    for (const r of repeated) {
      const commit = commits.get(r.value.source.txId)
      if (commit !== undefined) expect(commit).toBeGreaterThan(confirmedAtStop)
    }
    // …and a clean stop drains: it appends and acknowledges everything up to the last complete transaction before
    // closing the stream, so at most the one transaction in flight at the stop is read again.
    expect(new Set(repeated.map((r) => r.value?.source.txId ?? null).filter((x) => x !== null)).size).toBeLessThanOrEqual(1)
  })

  it('keeps source.sequence increasing across a restart, so consumers can order and deduplicate by it', async () => {
    await pgServer.query('CREATE TABLE seq (id int PRIMARY KEY)')
    sluice ??= await startSluiceProcess(dataDir)
    const id = await createSource(sluice.api, pgSourceConfig(pgServer, { 'table.include.list': 'public.seq' }))
    await waitForStatus(sluice.api, id, 'Active')
    const topic = topicOf(id, 'seq')
    for (let i = 1; i <= 3; i++) await pgServer.query(`INSERT INTO seq VALUES (${i})`)
    const before = await waitForRecords(sluice.api, topic, 0, 3)
    expect(await sluice.stop()).toBe(0)
    sluice = await startSluiceProcess(dataDir)
    await waitForStatus(sluice.api, id, 'Active')
    await pgServer.query('INSERT INTO seq VALUES (4)')
    const [after] = await waitForRecords(sluice.api, topic, 3, 1)
    expect(after.value.after).toEqual({ id: 4 })
    // Debezium restores the last commit LSN from the offset (`lsn_commit`); a null here sorts the new event before
    // everything already in the topic.
    const [lastCommit] = JSON.parse(after.value.source.sequence) as [string | null, string]
    const previousCommits = before.map((r) => BigInt(JSON.parse(r.value.source.sequence)[0] ?? 0))
    expect(lastCommit, `sequence ${after.value.source.sequence} after a restart`).not.toBeNull()
    for (const previous of previousCommits) expect(BigInt(lastCommit as string)).toBeGreaterThan(previous)
  })
})
