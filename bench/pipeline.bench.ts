/**
 * End to end: source table → pipeline → PostgreSQL destination, beside raw COPY of the same rows measured in the
 * same run.
 *
 * Setup: two real PostgreSQL servers (test/harness/postgres.ts, embedded 17, fsync off as in the tests), the source
 * and the target (a `target` database), as a pipeline has them in any deployment; `--target same` puts the target
 * database in the source's server instead, where the source's walsender must also read the target's writes (about
 * 0.4 µs of CPU a row, 2–3 points of the snapshot ratio). An in-process Sluice (SQLite metadata, embedded log with
 * fsync 'always'). The table has six typed columns (bigint key, text, numeric(12,2), timestamptz, boolean, double
 * precision), 1,000,000 rows by default, as in the snapshot bench: at 200,000 rows about a third of the phase is
 * start-up (the slot, the first batch into a new table, compiling the hot paths), not load.
 *
 * Phases:
 * 1. Raw: `COPY (SELECT * FROM bench_rows) TO STDOUT` piped into `COPY raw_rows FROM STDIN` in the target database
 *    (two connections, pg-copy-streams): rows/s of the best Sluice could hope to match.
 * 2. Snapshot: a source (`snapshot.mode: initial`), a destination and a pipeline created through the API; timed from
 *    the source's creation until the target table has the last row (rows arrive in order; polled every 20 ms), then
 *    checked to hold every row (outside the time). Ratio against phase 1.
 * 3. Streaming catch-up: the destination paused, M rows inserted in 1,000-row transactions and streamed into the
 *    topic, then the destination resumed and timed until the target has them all: rows/s of the delivery half.
 * 4. Paced: a Node writer commits 100-row insert transactions at a steady rate (default 5,000 changes/s) for S
 *    seconds. Latency per row = the target's `__applied_at` (a column with DEFAULT clock_timestamp() added to the
 *    target table before the phase, so it is the apply time of the insert) − the client-side time its transaction's
 *    COMMIT returned. Same machine, same clock. Reports p50/p99/max.
 *
 * Targets (issue 6): snapshot ≥ 40% of the raw COPY rate; paced p99 < 250 ms. Asserts nothing; writes
 * bench/results/pipeline.json.
 * Run: `npx tsx bench/pipeline.bench.ts [--rows 1000000] [--stream-rows 100000] [--rate 5000] [--seconds 15]
 * [--target separate|same]`
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline as pipe } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { from as copyFrom, to as copyTo } from 'pg-copy-streams'
import pino from 'pino'
import { loadConfig } from '../src/config/config.js'
import { startSluice } from '../src/main.js'
import { startPostgres } from '../test/harness/postgres.js'

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    'stream-rows': { type: 'string', default: '100000' },
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '15' },
    target: { type: 'string', default: 'separate' },
  },
})
if (args.target !== 'separate' && args.target !== 'same') throw new Error('--target is separate or same')
const ROWS = Number(args.rows)
const STREAM_ROWS = Number(args['stream-rows'])
const RATE = Number(args.rate)
const SECONDS = Number(args.seconds)

const TABLE = `CREATE TABLE %s (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(12,2), created timestamptz, flag boolean, score double precision)`
const FILL = (from: number, to: number) =>
  `INSERT INTO bench_rows SELECT g, 'name-' || g, (g % 100000) / 100.0, now(), g % 2 = 0, g * 1.5 FROM generate_series(${from}, ${to}) g`

/** Polls `probe` every `intervalMs` (100 by default; the timed phases poll every 20 ms so the poll adds little). */
async function waitUntil(probe: () => Promise<boolean>, timeoutMs: number, what: string, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached in ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

async function main() {
  const server = await startPostgres()
  const targetServer = args.target === 'separate' ? await startPostgres() : server
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-bench-pipeline-'))
  const source = new pg.Client(server.config())
  const target = new pg.Client(targetServer.config('target'))
  try {
    await targetServer.createDatabase('target')
    await source.connect()
    await target.connect()
    await source.query(TABLE.replace('%s', 'bench_rows'))
    await source.query(FILL(1, ROWS))
    await source.query('VACUUM ANALYZE bench_rows')
    await target.query(TABLE.replace('%s', 'raw_rows'))

    // 1. Raw COPY source → target.
    const reader = new pg.Client(server.config())
    await reader.connect()
    let started = performance.now()
    await pipe(reader.query(copyTo('COPY (SELECT * FROM bench_rows) TO STDOUT')), target.query(copyFrom('COPY raw_rows FROM STDIN')))
    const rawSeconds = (performance.now() - started) / 1000
    await reader.end()
    const rawRate = ROWS / rawSeconds
    console.log(`raw COPY: ${ROWS} rows in ${rawSeconds.toFixed(2)} s = ${Math.round(rawRate)} rows/s`)

    const config = loadConfig({ host: '127.0.0.1', port: 0, dataDir }, { SLUICE_ADMIN_CLIENT_ID: 'bench', SLUICE_ADMIN_SECRET: 'bench-secret', SLUICE_SECRET_KEY: 'bench' })
    const sluice = await startSluice(config, { logger: pino({ level: 'silent' }) })
    const token = (await (await fetch(`${sluice.url}/auth/access-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: 'bench', secret: 'bench-secret' }) })).json()).accessToken
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(sluice.url + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
      const json = await res.json()
      if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`)
      return json
    }
    const count = async () => {
      try {
        return Number((await target.query('SELECT count(*) AS n FROM public.bench_rows')).rows[0].n)
      } catch {
        return 0
      }
    }
    /**
     * Whether the target has row n. Polled while Sluice works, so it must be cheap: a primary-key lookup (a count(*)
     * of a few hundred thousand rows took about a tenth of the CPU the phase itself had on this 2-core machine). Rows
     * arrive in id order (table order, then commit order; batches commit in log order), so row n is the last of a
     * phase to arrive; the timed phases stop their clock when it is there and then check the count (`holdsAll`), which
     * for a million rows takes longer than the poll interval, outside the time.
     */
    const has = async (n: number) => {
      try {
        return (await target.query('SELECT 1 FROM public.bench_rows WHERE id = $1', [n])).rows.length > 0
      } catch {
        return false
      }
    }
    const holds = async (n: number) => (await has(n)) && (await count()) >= n
    const holdsAll = async (n: number, what: string) => {
      const found = await count()
      if (found !== n) throw new Error(`${what}: the target holds ${found} rows, expected ${n}`)
    }

    // 2. Snapshot through the pipeline.
    const conn = { 'database.hostname': '127.0.0.1', 'database.port': server.port, 'database.user': server.user, 'database.password': server.password }
    const targetConn = { ...conn, 'database.port': targetServer.port, 'database.user': targetServer.user, 'database.password': targetServer.password }
    started = performance.now()
    const src = await api('POST', '/sources', { name: 'bench', connector: 'postgresql', config: { ...conn, 'database.dbname': 'postgres', 'schema.include.list': 'public', 'snapshot.mode': 'initial' } })
    const dst = await api('POST', '/destinations', { name: 'bench-target', connector: 'postgresql', config: { ...targetConn, 'database.dbname': 'target' } })
    const pipeline = await api('POST', '/pipelines', { name: 'bench', source: { id: src.id }, destination: { id: dst.id } })
    await waitUntil(() => has(ROWS), 600_000, 'snapshot delivered', 20)
    const snapshotSeconds = (performance.now() - started) / 1000
    await holdsAll(ROWS, 'snapshot')
    const snapshotRate = ROWS / snapshotSeconds
    console.log(`snapshot via pipeline: ${ROWS} rows in ${snapshotSeconds.toFixed(2)} s = ${Math.round(snapshotRate)} rows/s (${((snapshotRate / rawRate) * 100).toFixed(1)}% of raw COPY; target ≥ 40%)`)

    // 3. Streaming catch-up: everything is in the topic before delivery resumes.
    await api('POST', `/destinations/${dst.id}/actions/pause`)
    for (let at = ROWS + 1; at <= ROWS + STREAM_ROWS; at += 1000) await source.query(FILL(at, Math.min(at + 999, ROWS + STREAM_ROWS)))
    await waitUntil(async () => (await api('GET', `/pipelines/${pipeline.id}/metrics`)).data.recordsLag >= STREAM_ROWS, 600_000, 'streamed into the topic')
    started = performance.now()
    await api('POST', `/destinations/${dst.id}/actions/resume`)
    await waitUntil(() => has(ROWS + STREAM_ROWS), 600_000, 'streamed rows delivered', 20)
    const catchUpSeconds = (performance.now() - started) / 1000
    await holdsAll(ROWS + STREAM_ROWS, 'streaming catch-up')
    const catchUpRate = STREAM_ROWS / catchUpSeconds
    console.log(`streaming catch-up: ${STREAM_ROWS} rows in ${catchUpSeconds.toFixed(2)} s = ${Math.round(catchUpRate)} rows/s (${((catchUpRate / rawRate) * 100).toFixed(1)}% of raw COPY)`)

    // 4. Paced latency.
    await target.query('ALTER TABLE public.bench_rows ADD COLUMN __applied_at timestamptz DEFAULT clock_timestamp()')
    const perTx = 100
    const intervalMs = (perTx / RATE) * 1000
    const commits: Array<{ from: number; to: number; at: number }> = []
    let next = ROWS + STREAM_ROWS + 1
    const begin = Date.now()
    for (let i = 0; Date.now() - begin < SECONDS * 1000; i++) {
      const due = begin + i * intervalMs
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()))
      await source.query(FILL(next, next + perTx - 1))
      commits.push({ from: next, to: next + perTx - 1, at: Date.now() })
      next += perTx
    }
    const achieved = ((next - (ROWS + STREAM_ROWS + 1)) / ((Date.now() - begin) / 1000))
    await waitUntil(() => holds(next - 1), 120_000, 'paced rows delivered')
    const applied = await target.query(`SELECT id, extract(epoch FROM __applied_at) * 1000 AS at FROM public.bench_rows WHERE id > ${ROWS + STREAM_ROWS} ORDER BY id`)
    const latencies: number[] = []
    let tx = 0
    for (const row of applied.rows) {
      const id = Number(row.id)
      while (commits[tx].to < id) tx++
      latencies.push(Number(row.at) - commits[tx].at)
    }
    latencies.sort((a, b) => a - b)
    const p50 = percentile(latencies, 50)
    const p99 = percentile(latencies, 99)
    console.log(`paced ${Math.round(achieved)} changes/s for ${SECONDS} s: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${latencies[latencies.length - 1].toFixed(1)} ms (target p99 < 250 ms)`)

    const results = {
      at: new Date().toISOString(),
      machine: { loadavg: loadavg() },
      rows: ROWS,
      target_server: args.target,
      raw_copy_rows_per_s: Math.round(rawRate),
      snapshot: { seconds: snapshotSeconds, rows_per_s: Math.round(snapshotRate), ratio_to_raw_copy: snapshotRate / rawRate, target_ratio: 0.4 },
      streaming_catch_up: { rows: STREAM_ROWS, seconds: catchUpSeconds, rows_per_s: Math.round(catchUpRate), ratio_to_raw_copy: catchUpRate / rawRate },
      paced: { requested_changes_per_s: RATE, achieved_changes_per_s: Math.round(achieved), seconds: SECONDS, p50_ms: p50, p99_ms: p99, max_ms: latencies[latencies.length - 1], target_p99_ms: 250 },
    }
    await writeFile(join(import.meta.dirname, 'results', 'pipeline.json'), `${JSON.stringify(results, null, 2)}\n`)
    await sluice.close()
  } finally {
    await source.end().catch(() => undefined)
    await target.end().catch(() => undefined)
    await server.destroy()
    if (targetServer !== server) await targetServer.destroy()
    await rm(dataDir, { recursive: true, force: true })
  }
}

await main()
