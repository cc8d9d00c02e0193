/**
 * Source lifecycle against a real server: pause keeps the slot and reads nothing, resume delivers what changed
 * meanwhile, restart, deploy and stop reach their states, a source created Paused never starts until resumed, and
 * the bulk state changes act like the single ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiClient, adminClient } from '../../harness/api-client.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type TestSluice, startTestSluice } from '../../harness/sluice.js'
import {
  action,
  createSource,
  getSource,
  pgSourceConfig,
  slotOf,
  slotState,
  topicOf,
  waitForStatus,
} from '../../harness/sources.js'
import { latestOffset, readTopic, rebuildTable, waitForRecords } from '../../harness/topic-reader.js'
import { waitFor } from '../../harness/wait-for.js'
import { createWorkloadTable, startWorkload, tableRows, waitForChanges } from '../../harness/workload.js'

const TABLE = 'public.tickets'

describe('streaming: pause, resume, restart and stop', () => {
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

  /** 1 while a walsender reads the slot, else 0. */
  async function walsenders(slot: string): Promise<number> {
    return (await slotState(pgServer, slot))?.active ? 1 : 0
  }

  it('pauses without reading, resumes with everything, restarts and stops', async () => {
    const id = await createSource(api, pgSourceConfig(pgServer, { 'table.include.list': TABLE }))
    await waitForStatus(api, id, 'Active')
    const topic = topicOf(id, 'tickets')
    const { slot } = slotOf(id)

    // Pause while writes flow, so the pause lands in the middle of the stream.
    const writes = startWorkload(pgServer, { table: TABLE, workers: 2, seed: 11 })
    await waitFor(() => latestOffset(api, topic), (n) => n >= 100, { message: 'writes streaming before the pause' })
    await action(api, id, 'pause')
    const paused = await waitForStatus(api, id, 'Paused')
    expect(paused).toMatchObject({ desired_state: 'Paused', task_statuses: { 0: { state: 'PAUSED' } } })
    // The slot stays (it holds the changes made meanwhile), but nobody reads from it.
    await waitFor(() => walsenders(slot), (n) => n === 0, { message: 'walsender gone after pause' })
    expect(await slotState(pgServer, slot)).toBeDefined()
    const pausedAt = await latestOffset(api, topic)
    const flushAtPause = (await slotState(pgServer, slot))?.confirmed_flush_lsn

    const atPause = writes.committedTransactions
    await waitFor(() => writes.committedTransactions, (n) => n >= atPause + 100, { message: 'writes while paused' })
    await writes.stop()
    expect(await latestOffset(api, topic)).toBe(pausedAt)
    expect(await walsenders(slot)).toBe(0)
    expect((await slotState(pgServer, slot))?.confirmed_flush_lsn).toBe(flushAtPause)
    const metrics = await api.request('GET', `/sources/${id}/metrics`)
    expect(metrics.body.data).toMatchObject({ StreamingConnected: 0 })
    expect((await getSource(api, id)).connector_status).toBe('Paused')

    await action(api, id, 'resume')
    await waitForStatus(api, id, 'Active')
    await waitForChanges(api, topic, writes.changes)
    expect(rebuildTable(await readTopic(api, topic))).toEqual(await tableRows(pgServer, TABLE))

    const pidBefore = (await slotState(pgServer, slot))?.active_pid
    await action(api, id, 'restart')
    await waitForStatus(api, id, 'Active')
    const pidAfter = await waitFor(async () => (await slotState(pgServer, slot))?.active_pid, (pid) => !!pid && pid !== pidBefore, {
      message: 'a new walsender after restart',
    })
    expect(pidAfter).not.toBe(pidBefore)
    const afterRestart = await latestOffset(api, topic)
    await pgServer.query(`INSERT INTO ${TABLE} VALUES (-1, 1, 'after restart')`)
    const [restarted] = await waitForRecords(api, topic, afterRestart, 1)
    expect(restarted.value.after).toEqual({ id: -1, version: 1, payload: 'after restart' })

    // Deploy: the stored config again, through a new replication connection, from the stored offset.
    const deployed = await api.request('POST', `/sources/${id}/deploy`)
    expect(deployed.status).toBe(200)
    expect(deployed.body.desired_state).toBe('Active')
    await waitForStatus(api, id, 'Active')
    await waitFor(async () => (await slotState(pgServer, slot))?.active_pid, (pid) => !!pid && pid !== pidAfter, { message: 'a new walsender after deploy' })
    const afterDeploy = await latestOffset(api, topic)
    await pgServer.query(`INSERT INTO ${TABLE} VALUES (-3, 1, 'after deploy')`)
    const [redeployed] = await waitForRecords(api, topic, afterDeploy, 1)
    expect(redeployed.value.after).toEqual({ id: -3, version: 1, payload: 'after deploy' })

    await action(api, id, 'stop')
    const stopped = await waitForStatus(api, id, 'Stopped')
    expect(stopped.desired_state).toBe('Stopped')
    await waitFor(() => walsenders(slot), (n) => n === 0, { message: 'walsender gone after stop' })
    const stoppedAt = await latestOffset(api, topic)
    await pgServer.query(`UPDATE ${TABLE} SET version = 2 WHERE id = -1`)
    expect(await latestOffset(api, topic)).toBe(stoppedAt)
    expect(await walsenders(slot)).toBe(0)
  })

  it('does not start a source created with desired_state Paused', async () => {
    const config = pgSourceConfig(pgServer, { 'table.include.list': TABLE })
    const id = await createSource(api, config, { desired_state: 'Paused' })
    const source = await getSource(api, id)
    expect(source).toMatchObject({ desired_state: 'Paused', connector_status: 'Paused' })
    await pgServer.query(`INSERT INTO ${TABLE} VALUES (-2, 1, 'while never started')`)
    // Another full round trip through the supervisor's queue for this source: still nothing started.
    await action(api, id, 'pause')
    expect((await getSource(api, id)).connector_status).toBe('Paused')
    const { slot, publication } = slotOf(id)
    expect(await slotState(pgServer, slot)).toBeUndefined()
    expect((await pgServer.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication])).rowCount).toBe(0)
    expect((await api.request('GET', `/topics/${topicOf(id, 'tickets')}`)).status).toBe(404)
    const metrics = await api.request('GET', `/sources/${id}/metrics`)
    expect(metrics.body.data).toMatchObject({ StreamingConnected: 0, recordSendTotal: 0 })

    // Resumed in bulk, it starts and reads; stopped in bulk, nobody reads its slot any more.
    const resumed = await api.request('POST', '/sources/bulk/resume', { ids: [id] })
    expect(resumed.body.summary).toEqual({ total: 1, succeeded: 1, failed: 0 })
    await waitForStatus(api, id, 'Active')
    await waitFor(() => walsenders(slot), (n) => n === 1, { message: 'walsender after the bulk resume' })
    await api.request('POST', '/sources/bulk/stop', { ids: [id] })
    await waitForStatus(api, id, 'Stopped')
    await waitFor(() => walsenders(slot), (n) => n === 0, { message: 'walsender gone after the bulk stop' })
  })
})
