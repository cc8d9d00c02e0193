import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConnectorError } from '../../../src/connectors/connector-error.js'
import { emitHeartbeat } from '../../../src/connectors/postgres/replication/heartbeat.js'
import { ensurePublication } from '../../../src/connectors/postgres/replication/publication.js'
import { connectReplication } from '../../../src/connectors/postgres/replication/replication-connection.js'
import type { XLogData } from '../../../src/connectors/postgres/replication/replication-frames.js'
import { dropSlot, getSlot } from '../../../src/connectors/postgres/replication/slot.js'
import { quoteLiteral } from '../../../src/connectors/postgres/replication/sql.js'
import { startPostgres, type TestPostgres } from '../../harness/postgres.js'
import {
  PGOUTPUT_TAGS,
  iterate,
  logicalMessage,
  readTransactions,
  readUntil,
  tagOf,
} from '../../harness/replication-reader.js'
import { waitFor } from '../../harness/wait-for.js'

let server: TestPostgres
let admin: pg.Client
const PUBLICATION = 'sluice_pub'
const WALSENDER_WAITS = `SELECT wait_event_type FROM pg_stat_activity WHERE backend_type = 'walsender'`
const stream = { slot: '', startLsn: 0n, publications: [PUBLICATION], protocolVersion: 2, messages: true } as const

beforeAll(async () => {
  server = await startPostgres()
  admin = new pg.Client(server.config())
  await admin.connect()
  await admin.query('CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL)')
  await ensurePublication(admin, PUBLICATION, [{ schema: 'public', table: 'items' }])
})

afterAll(async () => {
  await admin?.end()
  await server?.destroy()
})

async function slotState(name: string) {
  return getSlot(admin, name)
}

describe('replication connection and stream', () => {
  it('exports a snapshot, streams later changes, acknowledges an exact LSN and resumes after it', async () => {
    await admin.query(`INSERT INTO items VALUES (1, 'before-1'), (2, 'before-2')`)
    const conn = await connectReplication(server.config())
    const identity = await conn.identifySystem()
    expect(identity.dbName).toBe('postgres')
    const slot = await conn.createSlot('main_slot', { exportSnapshot: true })
    expect(slot.snapshotName).toMatch(/^[0-9A-F-]+$/)
    expect(slot.consistentPoint).toBeGreaterThan(0n)
    await admin.query(`INSERT INTO items VALUES (3, 'tx-insert')`)

    let snapshotDone!: () => void
    conn.keepSnapshotUntil(new Promise<void>((resolve) => (snapshotDone = resolve)))
    let started = false
    const streaming = conn
      .startReplication({ ...stream, slot: 'main_slot', startLsn: slot.consistentPoint })
      .then((s) => ((started = true), s))

    // The snapshot is importable because the replication connection stays idle, and sees only earlier rows.
    const reader = new pg.Client(server.config())
    await reader.connect()
    await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ')
    await reader.query(`SET TRANSACTION SNAPSHOT ${quoteLiteral(slot.snapshotName ?? '')}`)
    const { rows } = await reader.query('SELECT v FROM items ORDER BY id')
    await reader.query('COMMIT')
    await reader.end()
    expect(rows.map((r) => r.v)).toEqual(['before-1', 'before-2'])
    expect(started).toBe(false)
    snapshotDone()
    const replication = await streaming

    await admin.query(`UPDATE items SET v = 'tx-update' WHERE id = 1`)
    await admin.query(`DELETE FROM items WHERE id = 2`)
    const iterator = iterate(replication)
    const [insert, update, del] = await readTransactions(iterator, 3)
    expect(insert.tags).toEqual(['B', 'R', 'I', 'C'])
    expect(insert.text).toContain('tx-insert')
    expect(update.tags).toEqual(['B', 'U', 'C'])
    expect(update.text).toContain('tx-update')
    expect(del.tags).toEqual(['B', 'D', 'C'])
    for (const frame of [...insert.frames, ...update.frames, ...del.frames]) {
      expect(PGOUTPUT_TAGS.has(tagOf(frame))).toBe(true)
    }
    // A commit's XLogData starts at the commit's end LSN, which is what a consumer acknowledges.
    expect((update.frames.at(-1) as XLogData).walStart).toBe(update.endLsn)

    replication.acknowledge(update.endLsn)
    await waitFor(() => slotState('main_slot'), (s) => s?.confirmedFlushLsn === update.endLsn, {
      message: 'confirmed_flush_lsn = acknowledged LSN',
    })
    expect(replication.stats.reportedFlushLsn).toBe(update.endLsn)
    expect(() => replication.acknowledge(del.endLsn + 1_000_000n)).toThrow(RangeError)
    await replication.close()
    await waitFor(() => slotState('main_slot'), (s) => s?.active === false, { message: 'slot released' })

    // Resuming from the acknowledged LSN replays the unacknowledged delete and then newer work, nothing older.
    const again = await connectReplication(server.config())
    const resumed = await again.startReplication({ ...stream, slot: 'main_slot', startLsn: update.endLsn })
    await admin.query(`INSERT INTO items VALUES (4, 'tx-after-restart')`)
    const [first, second] = await readTransactions(iterate(resumed), 2)
    expect(first.tags).toEqual(['B', 'R', 'D', 'C'])
    expect(first.endLsn).toBe(del.endLsn)
    expect(second.text).toContain('tx-after-restart')
    await resumed.close()
  })

  it('streams a heartbeat message even when no table changes', async () => {
    const conn = await connectReplication(server.config())
    const slot = await conn.createSlot('heartbeat_slot', { exportSnapshot: false, temporary: true })
    expect(slot.snapshotName).toBeNull()
    const replication = await conn.startReplication({
      ...stream,
      slot: 'heartbeat_slot',
      startLsn: slot.consistentPoint,
    })
    await emitHeartbeat(admin)
    const frame = await readUntil(iterate(replication), (f) => f.kind === 'xlogdata' && tagOf(f) === 'M')
    const message = logicalMessage(frame as XLogData)
    expect(message.transactional).toBe(false)
    expect(message.prefix).toBe('sluice_heartbeat')
    expect(JSON.parse(message.content).ts_ms).toBeTypeOf('number')
    await replication.close()
  })

  it('ends iteration promptly on abort and releases the slot', async () => {
    const conn = await connectReplication(server.config())
    const slot = await conn.createSlot('abort_slot', { exportSnapshot: false })
    const controller = new AbortController()
    const replication = await conn.startReplication({
      ...stream,
      slot: 'abort_slot',
      startLsn: slot.consistentPoint,
      signal: controller.signal,
    })
    await waitFor(() => slotState('abort_slot'), (s) => s?.active === true, { message: 'slot active' })
    const pending = iterate(replication).next()
    const startedAt = performance.now()
    controller.abort()
    expect(await pending).toEqual({ done: true, value: undefined })
    expect(performance.now() - startedAt).toBeLessThan(1000)
    await waitFor(() => slotState('abort_slot'), (s) => s?.active === false, { message: 'slot released' })
    expect(await iterate(replication).next()).toEqual({ done: true, value: undefined })
    expect(await dropSlot(admin, 'abort_slot')).toBe(true)
  })

  it('cancels a slot creation that waits for an open transaction when aborted', async () => {
    const blocker = new pg.Client(server.config())
    await blocker.connect()
    await blocker.query('BEGIN')
    await blocker.query(`INSERT INTO items VALUES (100, 'open transaction')`)
    try {
      const controller = new AbortController()
      const conn = await connectReplication(server.config(), { signal: controller.signal })
      const creating = conn.createSlot('blocked_slot', { exportSnapshot: false }).catch((e: unknown) => e)
      await waitFor(
        async () => (await admin.query(WALSENDER_WAITS)).rows,
        (rows) => rows.some((r) => r.wait_event_type === 'Lock'),
        { message: 'slot creation waiting for the open transaction' },
      )
      const startedAt = performance.now()
      controller.abort()
      expect(await creating).toBe(controller.signal.reason)
      expect(performance.now() - startedAt).toBeLessThan(1000)
      // Cancelled on the server, not just abandoned: the half-made slot is gone while the transaction is still open.
      await waitFor(() => slotState('blocked_slot'), (s) => s === null, { message: 'half-made slot removed' })
    } finally {
      await blocker.query('ROLLBACK')
      await blocker.end()
    }
  })

  it('drops an active slot by terminating its walsender; the stream fails retriably', async () => {
    const conn = await connectReplication(server.config())
    const slot = await conn.createSlot('busy_slot', { exportSnapshot: false })
    const replication = await conn.startReplication({ ...stream, slot: 'busy_slot', startLsn: slot.consistentPoint })
    await waitFor(() => slotState('busy_slot'), (s) => s?.active === true, { message: 'slot active' })
    expect(await dropSlot(admin, 'busy_slot')).toBe(true)
    expect(await slotState('busy_slot')).toBeNull()
    expect(await dropSlot(admin, 'busy_slot')).toBe(false)
    const error = await iterate(replication).next().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConnectorError)
    expect(error).toMatchObject({ retriable: true })
  })

  it('rejects iteration for a missing slot (not retriable) and a slot in use (retriable)', async () => {
    const missing = await (await connectReplication(server.config())).startReplication({ ...stream, slot: 'nope' })
    const missingError = await iterate(missing).next().catch((e: unknown) => e)
    expect(missingError).toMatchObject({ name: 'ConnectorError', kind: 'slot_missing', retriable: false })

    const conn = await connectReplication(server.config())
    const slot = await conn.createSlot('shared_slot', { exportSnapshot: false })
    const holder = await conn.startReplication({ ...stream, slot: 'shared_slot', startLsn: slot.consistentPoint })
    await waitFor(() => slotState('shared_slot'), (s) => s?.active === true, { message: 'slot active' })
    const other = await connectReplication(server.config())
    const second = await other.startReplication({ ...stream, slot: 'shared_slot' })
    const inUse = await iterate(second).next().catch((e: unknown) => e)
    expect(inUse).toMatchObject({ name: 'ConnectorError', kind: 'slot_in_use', retriable: true })
    await holder.close()
    expect(await dropSlot(admin, 'shared_slot')).toBe(true)
  })
})
