/**
 * The snapshot's COPY reader against a real server. Aborting a snapshot's COPY while its socket is paused for backpressure (the consumer is slower than PostgreSQL):
 * the query must be cancelled on the server and the client must not be left waiting for a reply it will never read.
 * Before the fix, the client's next query (the snapshot's COMMIT) hung forever, and with it the source task's stop,
 * the stop_blocking_snapshot call that restarts it, and Sluice's shutdown.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyLines } from '../../../src/connectors/postgres/snapshot/copy-reader.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { waitFor } from '../../harness/wait-for.js'

describe('COPY reader', () => {
  let server: TestPostgres

  beforeAll(async () => {
    server = await startPostgres()
    await server.query("CREATE TABLE wide AS SELECT g AS id, repeat('x', 200) AS payload FROM generate_series(1, 300000) g")
    await server.query("CREATE TABLE huge AS SELECT g AS id, repeat(chr(64 + g), 20000000) AS payload FROM generate_series(1, 3) g")
  })
  afterAll(async () => {
    await server?.destroy()
  })

  it('cancels the query on the server and leaves no query of the client waiting', async () => {
    const client = new pg.Client({ ...server.config(), application_name: 'copy-abort-test' })
    client.on('error', () => undefined)
    await client.connect()
    const controller = new AbortController()
    const chunks = copyLines(client, 'SELECT * FROM wide', { signal: controller.signal, cancelConfig: server.config() })
    let read = 0
    let ended: unknown = null
    try {
      for await (const chunk of chunks) {
        read += lineCount(chunk)
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

  it('ends the query when the consumer stops early, so the error surfaces instead of a hang', async () => {
    const client = new pg.Client({ ...server.config(), application_name: 'copy-early-exit-test' })
    client.on('error', () => undefined)
    await client.connect()
    const failure = (async () => {
      for await (const _chunk of copyLines(client, 'SELECT * FROM wide', { signal: new AbortController().signal, cancelConfig: server.config() })) {
        throw new Error('the consumer failed')
      }
    })()
    await expect(failure).rejects.toThrow('the consumer failed')
    // Without the fix the query stayed active with its socket paused, and this COMMIT never answered.
    await expect(client.query('COMMIT')).rejects.toThrow()
    await waitFor(() => server.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'copy-early-exit-test' AND state = 'active'"), (r) => r.rows[0].n === 0, { timeoutMs: 30_000, message: 'COPY ended on the server' })
    await client.end().catch(() => undefined)
  }, 60_000)

  it('yields whole lines: every row once and in order, whatever the chunk boundaries', async () => {
    const client = new pg.Client(server.config())
    await client.connect()
    try {
      let next = 1
      let chunks = 0
      for await (const chunk of copyLines(client, "SELECT id, payload || 'ü' FROM wide ORDER BY id", { signal: new AbortController().signal, cancelConfig: server.config() })) {
        chunks++
        expect(chunk.at(-1)).toBe(0x0a)
        for (const line of chunk.toString('utf8').slice(0, -1).split('\n')) {
          expect(line).toBe(`${next++}\t${'x'.repeat(200)}ü`)
        }
      }
      expect(next - 1).toBe(300000)
      expect(chunks).toBeGreaterThan(1)
    } finally {
      await client.end()
    }
  }, 60_000)

  it('joins a row spanning hundreds of chunks once, whole', async () => {
    const client = new pg.Client(server.config())
    await client.connect()
    try {
      const rows: string[] = []
      for await (const chunk of copyLines(client, 'SELECT id, payload FROM huge ORDER BY id', { signal: new AbortController().signal, cancelConfig: server.config() })) {
        rows.push(...chunk.toString('latin1').slice(0, -1).split('\n'))
      }
      expect(rows.map((row) => row.length)).toEqual([20_000_002, 20_000_002, 20_000_002])
      expect(rows.map((row) => row.slice(0, 3) + row.slice(-1))).toEqual(['1\tAA', '2\tBB', '3\tCC'])
    } finally {
      await client.end()
    }
  }, 60_000)
})

function lineCount(chunk: Buffer): number {
  let count = 0
  for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, i + 1)) count++
  return count
}
