/**
 * Heartbeats keep a filtered slot moving: when only tables the source does not capture are written to, the slot's
 * confirmed_flush_lsn must still advance (otherwise the server keeps WAL forever), and the heartbeat messages are
 * really in the WAL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiClient, adminClient } from '../../harness/api-client.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type TestSluice, startTestSluice } from '../../harness/sluice.js'
import {
  confirmedFlush,
  createSource,
  currentWalLsn,
  pgSourceConfig,
  slotOf,
  topicOf,
  waitForStatus,
} from '../../harness/sources.js'
import { latestOffset } from '../../harness/topic-reader.js'
import { waitFor } from '../../harness/wait-for.js'

describe('streaming: heartbeats', () => {
  let pgServer: TestPostgres
  let t: TestSluice
  let api: ApiClient

  beforeAll(async () => {
    pgServer = await startPostgres()
    await pgServer.query(`
      CREATE TABLE captured (id int PRIMARY KEY);
      CREATE TABLE uncaptured (id serial PRIMARY KEY, filler text);
      CREATE PUBLICATION probe_pub;`)
    // A second slot that only records WAL, to look for the heartbeat messages Sluice emits.
    await pgServer.query("SELECT pg_create_logical_replication_slot('probe', 'pgoutput')")
    t = await startTestSluice()
    api = adminClient(t)
  })
  afterAll(async () => {
    await t?.stop()
    await pgServer?.destroy()
  })

  it('advances confirmed_flush_lsn while only an uncaptured table changes', async () => {
    const config = pgSourceConfig(pgServer, { 'table.include.list': 'public.captured', 'heartbeat.interval.ms': 1000 })
    const id = await createSource(api, config)
    await waitForStatus(api, id, 'Active')
    const { slot } = slotOf(id)
    for (let round = 0; round < 3; round++) {
      await pgServer.query("INSERT INTO uncaptured (filler) SELECT repeat('x', 200) FROM generate_series(1, 500)")
      const written = await currentWalLsn(pgServer)
      await waitFor(() => confirmedFlush(pgServer, slot), (lsn) => lsn >= written, {
        timeoutMs: 30_000,
        intervalMs: 100,
        message: `round ${round}: confirmed_flush_lsn past ${written}`,
      })
    }
    // Heartbeats are emitted every second: several are in the WAL after a while…
    const heartbeats = async () =>
      (
        await pgServer.query(
          `SELECT count(*)::int AS n FROM pg_logical_slot_peek_binary_changes('probe', NULL, NULL,
             'proto_version', '1', 'publication_names', 'probe_pub', 'messages', 'true')
            WHERE position('sluice_heartbeat'::bytea IN data) > 0`,
        )
      ).rows[0].n as number
    await waitFor(heartbeats, (n) => n >= 2, { timeoutMs: 30_000, intervalMs: 250, message: 'heartbeats in the WAL' })
    // …and with no writes at all the slot keeps moving past them.
    const idleFrom = await currentWalLsn(pgServer)
    await waitFor(() => confirmedFlush(pgServer, slot), (lsn) => lsn > idleFrom, {
      timeoutMs: 30_000,
      intervalMs: 100,
      message: `idle: confirmed_flush_lsn past ${idleFrom}`,
    })
    expect(await latestOffset(api, topicOf(id, 'captured'))).toBe(0)
  })
})
