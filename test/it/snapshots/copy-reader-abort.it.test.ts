/**
 * Aborting a snapshot's COPY while its socket is paused for backpressure (the consumer is slower than PostgreSQL):
 * the query must be cancelled on the server and the client must not be left waiting for a reply it will never read.
 * Before the fix, the client's next query (the snapshot's COMMIT) hung forever, and with it the source task's stop,
 * the stop_blocking_snapshot call that restarts it, and Sluice's shutdown.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyRows } from '../../../src/connectors/postgres/snapshot/copy-reader.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { waitFor } from '../../harness/wait-for.js'

describe('COPY reader abort', () => {
  let server: TestPostgres

  beforeAll(async () => {
    server = await startPostgres()
    await server.query("CREATE TABLE wide AS SELECT g AS id, repeat('x', 200) AS payload FROM generate_series(1, 300000) g")
  })
  afterAll(async () => {
    await server?.destroy()
  })

  it('cancels the query on the server and leaves no query of the client waiting', async () => {
    const client = new pg.Client({ ...server.config(), application_name: 'copy-abort-test' })
    client.on('error', () => undefined)
    await client.connect()
    const controller = new AbortController()
    const rows = copyRows(client, 'SELECT * FROM wide', { signal: controller.signal, cancelConfig: server.config() })
    let read = 0
    let ended: unknown = null
    try {
      for await (const chunk of rows) {
        read += chunk.length
        if (read < 1000) continue
        controller.abort()
        // Stop pulling rows until the server has given up the query: the socket stays paused meanwhile.
        await waitFor(() => server.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'copy-abort-test' AND state = 'active'"), (r) => r.rows[0].n === 0, { timeoutMs: 30_000, message: 'COPY cancelled on the server' })
      }
    } catch (error) {
      ended = error
    }
    expect(String(ended)).toMatch(/cancel/)
    expect(read).toBeLessThan(300000)
    // The aborted client is finished: a later query fails at once instead of waiting forever.
    await expect(client.query('SELECT 1')).rejects.toThrow()
    await client.end().catch(() => undefined)
  }, 60_000)
})
