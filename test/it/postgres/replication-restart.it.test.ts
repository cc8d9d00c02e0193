import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConnectorError } from '../../../src/connectors/connector-error.js'
import { ensurePublication } from '../../../src/connectors/postgres/replication/publication.js'
import { connectReplication } from '../../../src/connectors/postgres/replication/replication-connection.js'
import type { ReplicationStream } from '../../../src/connectors/postgres/replication/replication-stream.js'
import { getSlot } from '../../../src/connectors/postgres/replication/slot.js'
import { startPostgres, type TestPostgres } from '../../harness/postgres.js'
import { iterate, readTransactions } from '../../harness/replication-reader.js'

let server: TestPostgres
const streams: ReplicationStream[] = []

beforeAll(async () => {
  server = await startPostgres()
  await server.query('CREATE TABLE t (id int PRIMARY KEY)')
  const admin = new pg.Client(server.config())
  await admin.connect()
  await ensurePublication(admin, 'pub', [{ schema: 'public', table: 't' }])
  await admin.end()
})

afterAll(async () => {
  // A walsender holds a server shutdown until its client confirms everything sent, so close streams first.
  await Promise.all(streams.map((s) => s.close()))
  await server?.destroy()
})

async function open(slot: string, startLsn: bigint): Promise<ReplicationStream> {
  const conn = await connectReplication(server.config())
  const options = { slot, startLsn, publications: ['pub'], protocolVersion: 1, messages: true } as const
  const stream = await conn.startReplication(options)
  streams.push(stream)
  return stream
}

describe('replication stream across a server restart', () => {
  it('rejects iteration with a retriable ConnectorError, and streaming resumes after the restart', async () => {
    const conn = await connectReplication(server.config())
    const slot = await conn.createSlot('restart_slot', { exportSnapshot: false })
    await conn.close()
    const replication = await open('restart_slot', slot.consistentPoint)
    await server.query('INSERT INTO t VALUES (1)')
    const iterator = iterate(replication)
    const [first] = await readTransactions(iterator, 1)
    replication.acknowledge(first.endLsn)

    // WAL the stream does not publish moves the walsender past the acknowledged LSN. At shutdown it waits until
    // the client confirms everything it sent, so a consumer holding nothing undurable confirms each keepalive's
    // position (without that, `stop()` hangs: checked by hand).
    await server.query('CREATE TABLE unpublished (x int)')
    await server.query('INSERT INTO unpublished VALUES (1)')
    const consumed = (async () => {
      for (;;) {
        const next = await iterator.next()
        if (next.done) return
        if (next.value.kind === 'keepalive') replication.acknowledge(next.value.walEnd)
      }
    })()
    const failure = consumed.then(
      () => new Error('iteration ended instead of failing'),
      (error: unknown) => error,
    )
    await server.stop()
    const error = await failure
    expect(error).toBeInstanceOf(ConnectorError)
    expect(error).toMatchObject({ retriable: true, kind: 'connection' })

    await server.start()
    expect((await getSlot(server, 'restart_slot'))?.confirmedFlushLsn).toBeGreaterThanOrEqual(first.endLsn)
    const resumed = await open('restart_slot', first.endLsn)
    await server.query('INSERT INTO t VALUES (2)')
    const [second] = await readTransactions(iterate(resumed), 1)
    expect(second.tags).toEqual(['B', 'R', 'I', 'C'])
    expect(second.endLsn).toBeGreaterThan(first.endLsn)
    await resumed.close()
  })
})
