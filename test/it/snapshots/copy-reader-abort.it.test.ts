/**
 * The snapshot's COPY reader against a real server: rows whatever the chunk boundaries, notices and errors among
 * them, a row spanning many chunks. Aborting a snapshot's COPY while its socket is paused for backpressure (the consumer is slower than PostgreSQL):
 * the query must be cancelled on the server and the client must not be left waiting for a reply it will never read.
 * Before the fix, the client's next query (the snapshot's COMMIT) hung forever, and with it the source task's stop,
 * the stop_blocking_snapshot call that restarts it, and Sluice's shutdown.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CopyRows, copyRows } from '../../../src/connectors/postgres/snapshot/copy-reader.js'
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
    const chunks = copyRows(client, 'SELECT * FROM wide', { signal: controller.signal, cancelConfig: server.config() })
    let read = 0
    let ended: unknown = null
    try {
      for await (const chunk of chunks) {
        read += chunk.count
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
      for await (const _chunk of copyRows(client, 'SELECT * FROM wide', { signal: new AbortController().signal, cancelConfig: server.config() })) {
        throw new Error('the consumer failed')
      }
    })()
    await expect(failure).rejects.toThrow('the consumer failed')
    // Without the fix the query stayed active with its socket paused, and this COMMIT never answered.
    await expect(client.query('COMMIT')).rejects.toThrow()
    await waitFor(() => server.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'copy-early-exit-test' AND state = 'active'"), (r) => r.rows[0].n === 0, { timeoutMs: 30_000, message: 'COPY ended on the server' })
    await client.end().catch(() => undefined)
  }, 60_000)

  it('yields every row once and in order, whatever the chunk boundaries, passing over notices sent among them', async () => {
    const client = new pg.Client(server.config())
    await client.connect()
    try {
      // A NoticeResponse every 1,000 rows arrives between CopyData messages.
      await client.query(`CREATE FUNCTION noisy(n int) RETURNS int LANGUAGE plpgsql AS $$
        BEGIN IF n % 1000 = 0 THEN RAISE NOTICE 'row %', n; END IF; RETURN n; END $$`)
      const notices: string[] = []
      client.on('notice', (notice) => notices.push(notice.message ?? ''))
      let next = 1
      let chunks = 0
      for await (const chunk of copyRows(client, "SELECT noisy(id), payload || 'ü' FROM wide ORDER BY id", { signal: new AbortController().signal, cancelConfig: server.config() })) {
        chunks++
        for (const line of lines(chunk, 'utf8')) expect(line).toBe(`${next++}\t${'x'.repeat(200)}ü`)
      }
      expect(next - 1).toBe(300000)
      expect(chunks).toBeGreaterThan(1)
      // pg has the socket back: the client answers the next query.
      expect((await client.query('SELECT 41 + 1 AS n')).rows).toEqual([{ n: 42 }])
    } finally {
      await client.end()
    }
  }, 60_000)

  it('surfaces an error the server sends before or during the COPY, after the rows before it, and the client goes on', async () => {
    const client = new pg.Client(server.config())
    await client.connect()
    const options = { signal: new AbortController().signal, cancelConfig: server.config() }
    try {
      await expect((async () => {
        for await (const _chunk of copyRows(client, 'SELECT nope FROM wide', options)) throw new Error('no rows expected')
      })()).rejects.toThrow(/column "nope" does not exist/)
      // A plain scan from the table's first block (CREATE TABLE AS wrote it in id order): rows stream before the error.
      await client.query('SET synchronize_seqscans = off')
      let read = 0
      await expect((async () => {
        for await (const chunk of copyRows(client, 'SELECT id, 1 / (id - 150000) FROM wide', options)) {
          for (const line of lines(chunk, 'latin1')) expect(line).toMatch(/^\d+\t-?\d+$/)
          read += chunk.count
        }
      })()).rejects.toThrow(/division by zero/)
      expect(read).toBe(149999)
      expect((await client.query('SELECT 41 + 1 AS n')).rows).toEqual([{ n: 42 }])
    } finally {
      await client.end()
    }
  }, 60_000)

  it('joins a row spanning hundreds of chunks once, whole', async () => {
    const client = new pg.Client(server.config())
    await client.connect()
    try {
      const rows: string[] = []
      for await (const chunk of copyRows(client, 'SELECT id, payload FROM huge ORDER BY id', { signal: new AbortController().signal, cancelConfig: server.config() })) {
        rows.push(...lines(chunk, 'latin1'))
      }
      expect(rows.map((row) => row.length)).toEqual([20_000_002, 20_000_002, 20_000_002])
      expect(rows.map((row) => row.slice(0, 3) + row.slice(-1))).toEqual(['1\tAA', '2\tBB', '3\tCC'])
    } finally {
      await client.end()
    }
  }, 60_000)
})

/** The chunk's rows as text, without their newlines. */
function lines({ bytes, rows, count }: CopyRows, encoding: BufferEncoding): string[] {
  return Array.from({ length: count }, (_, r) => bytes.toString(encoding, rows[2 * r], rows[2 * r + 1]))
}
