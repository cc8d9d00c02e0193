import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensurePublication } from '../../../src/connectors/postgres/replication/publication.js'
import { connectReplication } from '../../../src/connectors/postgres/replication/replication-connection.js'
import { DEFAULT_HIGH_WATER_MARK_FRAMES } from '../../../src/connectors/postgres/replication/replication-stream.js'
import { startPostgres, type TestPostgres } from '../../harness/postgres.js'
import { commitEndLsn, iterate, tagOf } from '../../harness/replication-reader.js'
import { waitFor } from '../../harness/wait-for.js'

const ROWS = 200_000
const PAYLOAD = 'x'.repeat(100)
// One Insert frame is ~150 bytes, so the whole stream is ~30 MB; the stream may hold its high-water mark of frames
// plus the frames of one socket read (tens of KiB). 1 MiB leaves room and still fails if buffering is unbounded.
const BUFFER_BOUND_BYTES = 1024 * 1024

let server: TestPostgres
let admin: pg.Client

beforeAll(async () => {
  server = await startPostgres()
  admin = new pg.Client(server.config())
  await admin.connect()
  await admin.query('CREATE TABLE bulk (id int PRIMARY KEY, v text NOT NULL)')
  await ensurePublication(admin, 'bulk_pub', [{ schema: 'public', table: 'bulk' }])
})

afterAll(async () => {
  await admin?.end()
  await server?.destroy()
})

async function walsenderWaitEvent(slot: string): Promise<string | null> {
  const { rows } = await admin.query(
    `SELECT a.wait_event FROM pg_stat_activity a JOIN pg_replication_slots s ON s.active_pid = a.pid
      WHERE s.slot_name = $1`,
    [slot],
  )
  return rows[0]?.wait_event ?? null
}

describe('replication stream backpressure', () => {
  it('stops reading the socket while the consumer is behind, so memory stays bounded', async () => {
    const conn = await connectReplication(server.config())
    const slot = await conn.createSlot('bulk_slot', { exportSnapshot: false })
    const replication = await conn.startReplication({
      slot: 'bulk_slot',
      startLsn: slot.consistentPoint,
      publications: ['bulk_pub'],
      protocolVersion: 2,
      messages: false,
    })

    // The consumer reads nothing while the rows go in; the walsender must end up blocked writing to us.
    await admin.query(`INSERT INTO bulk SELECT g, '${PAYLOAD}' FROM generate_series(1, ${ROWS}) g`)
    await waitFor(() => walsenderWaitEvent('bulk_slot'), (e) => e === 'WalSenderWriteData', {
      timeoutMs: 60_000,
      message: 'walsender blocked on a full socket',
    })
    const stalled = replication.stats
    expect(stalled.bufferedFrames).toBeGreaterThanOrEqual(DEFAULT_HIGH_WATER_MARK_FRAMES)
    expect(stalled.bufferedFrames).toBeLessThan(ROWS)
    expect(stalled.peakBufferedBytes).toBeLessThan(BUFFER_BOUND_BYTES)

    // Once the consumer catches up, every row arrives and the bound held throughout.
    const iterator = iterate(replication)
    let inserts = 0
    let commitEnd = 0n
    while (commitEnd === 0n) {
      const next = await iterator.next()
      if (next.done) throw new Error('stream ended early')
      if (next.value.kind !== 'xlogdata') continue
      const tag = tagOf(next.value)
      if (tag === 'I') inserts += 1
      if (tag === 'C') commitEnd = commitEndLsn(next.value)
    }
    expect(inserts).toBe(ROWS)
    expect(replication.stats.peakBufferedBytes).toBeLessThan(BUFFER_BOUND_BYTES)
    replication.acknowledge(commitEnd)
    await replication.close()
  })
})
