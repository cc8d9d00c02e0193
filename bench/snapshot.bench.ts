/**
 * Blocking snapshot throughput, stop latency and memory of a PostgreSQL source, against a raw COPY of the same table.
 *
 * Setup: a real PostgreSQL (test/harness/postgres.ts, embedded 17, fsync off as in the tests) with a table of N rows
 * (default 1,000,000; ~150 bytes each in the heap) of mixed types: int8 key, text, numeric(12,2), timestamptz, bool,
 * a small jsonb, uuid, float8. Sluice runs in this process (embedded SQLite metadata, embedded topic log with its
 * default fsync), driven through its HTTP API; its logger is silent.
 *
 * Figures, all from the same run:
 * (a) raw: `COPY (SELECT * FROM t) TO STDOUT` with pg + pg-copy-streams, the bytes discarded — the floor of what
 *     any snapshot reader pays to get the rows out of PostgreSQL. Best of two runs (the second has a warm cache).
 * (b) blocking snapshot rows/s into the log, from the `POST /sources/snapshot` request until the run's status is
 *     `completed` (polled every 25 ms): one thread, then `snapshot.max.threads: 2` for information. Ratio to (a).
 * (c) stop: on a running blocking snapshot, the duration of `POST /sources/stop_blocking_snapshot`; then a row is
 *     inserted into a small captured table right after the call returns, and the time until its event is durable
 *     in the log (observed by wrapping the log's `append`, which resolves only once records are durable).
 * (d) peak RSS of this process while each snapshot runs (`process.memoryUsage().rss` every 25 ms), and VmHWM (the
 *     process's lifetime peak) at the end.
 *
 * Targets: (b) one thread ≥ 50% of raw COPY rows/s; (c) call < 2 s, streaming resumed < 1 s; (d) < 300 MB.
 * Asserts nothing; writes bench/results/snapshot.json.
 * Run: `npx tsx bench/snapshot.bench.ts [--rows 1000000] [--profile]` (or SLUICE_BENCH_ROWS). `--profile` records a CPU
 * profile of the one-thread snapshot (in-process inspector), prints its top self-time functions and saves it as
 * bench/results/snapshot.cpuprofile.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Session } from 'node:inspector/promises'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { to as copyTo } from 'pg-copy-streams'
import pino from 'pino'
import { loadConfig } from '../src/config/config.js'
import type { AppendRecord, AppendResult } from '../src/log/topic-log.js'
import { startSluice } from '../src/main.js'
import { startPostgres } from '../test/harness/postgres.js'

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: process.env.SLUICE_BENCH_ROWS ?? '1000000' },
    profile: { type: 'boolean', default: false },
  },
})
const ROWS = Math.max(1000, Number(args.rows))
const TABLE = 'snap_rows'
const PULSE = 'snap_pulse'
const POLL_MS = 25

const nowMs = () => performance.timeOrigin + performance.now()
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10
const load = () => loadavg().map((l) => Number(l.toFixed(2)))

/** Self time per function of a V8 CPU profile, highest first. */
function hotSpots(profile: { nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>; samples?: number[]; timeDeltas?: number[] }, top: number): string[] {
  const byNode = new Map<number, number>()
  const deltas = profile.timeDeltas ?? []
  ;(profile.samples ?? []).forEach((id, i) => byNode.set(id, (byNode.get(id) ?? 0) + (deltas[i] ?? 0)))
  const byFunction = new Map<string, number>()
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame
    const key = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`
    byFunction.set(key, (byFunction.get(key) ?? 0) + (byNode.get(node.id) ?? 0))
  }
  const total = [...byFunction.values()].reduce((a, b) => a + b, 0)
  return [...byFunction.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([key, us]) => `${(us / 1000).toFixed(0).padStart(7)} ms ${((us / total) * 100).toFixed(1).padStart(5)}%  ${key}`)
}

/** Samples this process's RSS until stopped; returns the peak. */
function sampleRss(): { stop(): number } {
  let peak = process.memoryUsage().rss
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, POLL_MS)
  return {
    stop() {
      clearInterval(timer)
      return Math.max(peak, process.memoryUsage().rss)
    },
  }
}

async function vmHwmBytes(): Promise<number | null> {
  try {
    const match = (await readFile('/proc/self/status', 'utf8')).match(/^VmHWM:\s+(\d+) kB/m)
    return match ? Number(match[1]) * 1024 : null
  } catch {
    return null
  }
}

console.log(`snapshot bench: ${fmt(ROWS)} rows; node ${process.version}; load ${load().join(' ')}`)
const loadAtStart = load()
const dir = await mkdtemp(join(tmpdir(), 'sluice-snapshot-bench-'))
const pgServer = await startPostgres({ settings: { shared_buffers: '256MB', max_wal_size: '4GB', checkpoint_timeout: '30min' } })
const sluice = await startSluice(
  loadConfig({ host: '127.0.0.1', port: 0, dataDir: join(dir, 'sluice'), logLevel: 'silent' },
    { SLUICE_ADMIN_CLIENT_ID: 'bench', SLUICE_ADMIN_SECRET: 'bench-secret', SLUICE_SECRET_KEY: 'bench-key' }),
  { logger: pino({ level: 'silent' }) },
)
const rssAtStartBytes = process.memoryUsage().rss

/** The moment a record whose value contains `needle` became durable. */
let watch: { needle: Buffer; resolve: (ms: number) => void } | null = null
const appendDurably = sluice.log.append.bind(sluice.log)
sluice.log.append = async (records: AppendRecord[]): Promise<AppendResult[]> => {
  const results = await appendDurably(records)
  const durable = nowMs()
  const w = watch
  if (w && records.some((r) => Buffer.isBuffer(r.value) && r.value.includes(w.needle))) {
    watch = null
    w.resolve(durable)
  }
  return results
}

try {
  let accessToken: string | undefined
  async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (accessToken) headers.authorization = `Bearer ${accessToken}`
    const res = await fetch(sluice.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
    const text = await res.text()
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
    return JSON.parse(text) as T
  }
  accessToken = (await api<{ accessToken: string }>('POST', '/auth/access-token', { client_id: 'bench', secret: 'bench-secret' })).accessToken

  async function createSource(name: string, extra: Record<string, unknown> = {}): Promise<string> {
    const config = {
      'database.hostname': '127.0.0.1', 'database.port': pgServer.port, 'database.user': pgServer.user, 'database.password': pgServer.password,
      'database.dbname': 'postgres', 'schema.include.list': 'public', 'table.include.list': `public.${TABLE},public.${PULSE}`,
      'snapshot.mode': 'no_data', ...extra,
    }
    const { id } = await api<{ id: string }>('POST', '/sources', { name, connector: 'postgresql', config })
    const deadline = Date.now() + 60_000
    for (;;) {
      const { result } = await api<{ result: Array<{ connector_status: string }> }>('GET', `/sources/${id}`)
      if (result[0].connector_status === 'Active') return id
      if (Date.now() > deadline) throw new Error(`source ${id} not Active: ${JSON.stringify(result[0])}`)
      await sleep(100)
    }
  }
  type Run = { id: string; status: string; rows_read: number; tables: Array<{ status: string; rows_read: number }> }
  const latestRun = async (id: string) => (await api<{ result: Run[] }>('GET', `/sources/${id}/snapshots`)).result[0]
  async function waitForRun(id: string, accept: (run: Run) => boolean, timeoutMs: number): Promise<Run> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const run = await latestRun(id)
      if (run && accept(run)) return run
      if (run?.status === 'failed') throw new Error(`snapshot failed: ${JSON.stringify(run)}`)
      if (Date.now() > deadline) throw new Error(`snapshot of ${id} not as expected in time: ${JSON.stringify(run)}`)
      await sleep(POLL_MS)
    }
  }

  // ---- data ---------------------------------------------------------------------------------------------------
  const started = nowMs()
  await pgServer.query(`CREATE TABLE ${TABLE} (id int8 PRIMARY KEY, name text NOT NULL, amount numeric(12,2), created_at timestamptz,
    active boolean, meta jsonb, ref uuid, score float8)`)
  await pgServer.query(`INSERT INTO ${TABLE}
    SELECT g, 'customer-' || g || '-' || md5(g::text)::varchar(12), (g % 100000) / 100.0, now() - (g || ' seconds')::interval,
           g % 2 = 0, jsonb_build_object('k', g % 1000, 'tag', 't' || (g % 7)), md5(g::text)::uuid, g / 7.0
      FROM generate_series(1, ${ROWS}) g`)
  await pgServer.query(`VACUUM ANALYZE ${TABLE}`)
  await pgServer.query(`CREATE TABLE ${PULSE} (id serial PRIMARY KEY, note text NOT NULL)`)
  const { rows: [size] } = await pgServer.query(`SELECT pg_relation_size('${TABLE}') AS heap, pg_total_relation_size('${TABLE}') AS total`)
  const bytesPerRow = Number(size.heap) / ROWS
  console.log(`table: ${fmt(ROWS)} rows, heap ${mb(Number(size.heap))} MB (${bytesPerRow.toFixed(0)} bytes/row) in ${((nowMs() - started) / 1000).toFixed(1)} s`)

  // ---- (a) raw COPY -------------------------------------------------------------------------------------------
  async function rawCopy(): Promise<{ seconds: number; bytes: number }> {
    const client = new pg.Client(pgServer.config())
    await client.connect()
    try {
      let bytes = 0
      const t0 = nowMs()
      await pipeline(client.query(copyTo(`COPY (SELECT * FROM ${TABLE}) TO STDOUT`)), new Writable({
        write(chunk: Buffer, _encoding, done) {
          bytes += chunk.length
          done()
        },
      }))
      return { seconds: (nowMs() - t0) / 1000, bytes }
    } finally {
      await client.end()
    }
  }
  const copies = [await rawCopy(), await rawCopy()]
  const bestCopy = copies.reduce((a, b) => (b.seconds < a.seconds ? b : a))
  const rawRowsPerSecond = ROWS / bestCopy.seconds
  console.log(`(a) raw COPY: ${fmt(rawRowsPerSecond)} rows/s (${copies.map((c) => c.seconds.toFixed(2)).join(' s, ')} s; ${mb(bestCopy.bytes)} MB of text)`)

  // ---- (b) blocking snapshot ----------------------------------------------------------------------------------
  async function blockingSnapshot(threads: number): Promise<{ seconds: number; rowsPerSecond: number; peakRssBytes: number; rssBeforeBytes: number; sourceId: string }> {
    const sourceId = await createSource(`bench-blocking-${threads}`, { 'snapshot.max.threads': threads })
    const session = args.profile && threads === 1 ? new Session() : null
    if (session) {
      session.connect()
      await session.post('Profiler.enable')
      await session.post('Profiler.start')
    }
    const rssBeforeBytes = process.memoryUsage().rss
    const rss = sampleRss()
    const t0 = nowMs()
    await api('POST', '/sources/snapshot', { source_id: sourceId, snapshot_type: 'blocking', topic_names: [`public.${TABLE}`] })
    const run = await waitForRun(sourceId, (r) => r.status === 'completed', 30 * 60_000)
    const seconds = (nowMs() - t0) / 1000
    const peakRssBytes = rss.stop()
    if (session) {
      const { profile } = await session.post('Profiler.stop')
      session.disconnect()
      await mkdir(join(import.meta.dirname, 'results'), { recursive: true })
      await writeFile(join(import.meta.dirname, 'results', 'snapshot.cpuprofile'), JSON.stringify(profile))
      console.log(`    CPU profile of the 1-thread snapshot (self time):\n${hotSpots(profile, 25).map((l) => `      ${l}`).join('\n')}`)
    }
    if (run.rows_read !== ROWS) throw new Error(`snapshot read ${run.rows_read} rows, expected ${ROWS}`)
    return { seconds, rowsPerSecond: ROWS / seconds, peakRssBytes, rssBeforeBytes, sourceId }
  }
  const one = await blockingSnapshot(1)
  const ratio = one.rowsPerSecond / rawRowsPerSecond
  console.log(`(b) blocking snapshot, 1 thread: ${fmt(one.rowsPerSecond)} rows/s (${one.seconds.toFixed(2)} s) = ` +
    `${(ratio * 100).toFixed(1)}% of raw COPY (target ≥ 50%); peak RSS ${mb(one.peakRssBytes)} MB (${mb(one.rssBeforeBytes)} MB before)`)
  // The topics of a finished measurement are not needed again: deleting the source frees their disk space.
  await api('DELETE', `/sources/${one.sourceId}`)
  const two = await blockingSnapshot(2)
  console.log(`    blocking snapshot, 2 threads: ${fmt(two.rowsPerSecond)} rows/s (${two.seconds.toFixed(2)} s) = ` +
    `${((two.rowsPerSecond / rawRowsPerSecond) * 100).toFixed(1)}% of raw COPY; peak RSS ${mb(two.peakRssBytes)} MB (${mb(two.rssBeforeBytes)} MB before)`)
  await api('DELETE', `/sources/${two.sourceId}`)

  // ---- (c) stop_blocking_snapshot ----------------------------------------------------------------------------
  const stopSource = await createSource('bench-stop')
  await api('POST', '/sources/snapshot', { source_id: stopSource, snapshot_type: 'blocking', topic_names: [`public.${TABLE}`] })
  const before = await waitForRun(stopSource, (r) => r.status === 'running' && r.rows_read > 0, 10 * 60_000)
  const needle = `pulse-${Date.now()}`
  const durable = new Promise<number>((resolve) => {
    watch = { needle: Buffer.from(needle), resolve }
  })
  const s0 = nowMs()
  const stopped = await api<{ snapshot: Run; connector_status: string }>('POST', '/sources/stop_blocking_snapshot', { source_id: stopSource })
  const returned = nowMs()
  await pgServer.query(`INSERT INTO ${PULSE} (note) VALUES ($1)`, [needle])
  const arrived = await Promise.race([durable, sleep(60_000).then(() => NaN)])
  const callMs = returned - s0
  const resumeMs = arrived - returned
  console.log(`(c) stop_blocking_snapshot: call ${callMs.toFixed(0)} ms (target < 2000; status ${stopped.snapshot.status}, ` +
    `connector ${stopped.connector_status}, ${fmt(stopped.snapshot.rows_read)} of ${fmt(ROWS)} rows read, ${fmt(before.rows_read)} when called); ` +
    `first streamed event durable ${resumeMs.toFixed(0)} ms after it returned (target < 1000)`)
  await api('DELETE', `/sources/${stopSource}`)

  // ---- (d) memory ---------------------------------------------------------------------------------------------
  const hwm = await vmHwmBytes()
  const peakDuringSnapshot = Math.max(one.peakRssBytes, two.peakRssBytes)
  console.log(`(d) peak RSS during snapshots: ${mb(peakDuringSnapshot)} MB (target < 300); VmHWM ${hwm === null ? 'n/a' : `${mb(hwm)} MB`}; ` +
    `${mb(rssAtStartBytes)} MB once Sluice had started`)

  const results = {
    benchmark: 'snapshot',
    date: new Date().toISOString(),
    node: process.version,
    load: { atStart: loadAtStart, atEnd: load() },
    table: { rows: ROWS, heapBytes: Number(size.heap), heapBytesPerRow: Math.round(bytesPerRow), totalBytes: Number(size.total) },
    rawCopy: { rowsPerSecond: Math.round(rawRowsPerSecond), seconds: copies.map((c) => Number(c.seconds.toFixed(3))), bytes: bestCopy.bytes },
    blocking: {
      oneThread: { rowsPerSecond: Math.round(one.rowsPerSecond), seconds: Number(one.seconds.toFixed(3)), ratioToRawCopy: Number(ratio.toFixed(3)), peakRssBytes: one.peakRssBytes, rssBeforeBytes: one.rssBeforeBytes },
      twoThreads: { rowsPerSecond: Math.round(two.rowsPerSecond), seconds: Number(two.seconds.toFixed(3)), ratioToRawCopy: Number((two.rowsPerSecond / rawRowsPerSecond).toFixed(3)), peakRssBytes: two.peakRssBytes, rssBeforeBytes: two.rssBeforeBytes },
    },
    stop: { callMs: Math.round(callMs), streamingResumedMs: Number.isNaN(resumeMs) ? null : Math.round(resumeMs), rowsReadAtCall: before.rows_read, rowsReadAtStop: stopped.snapshot.rows_read, status: stopped.snapshot.status },
    memory: { peakRssDuringSnapshotBytes: peakDuringSnapshot, vmHwmBytes: hwm, rssAtStartBytes },
    targets: {
      ratioAtLeast: 0.5,
      ratioMet: ratio >= 0.5,
      stopCallMsBelow: 2000,
      stopCallMet: callMs < 2000,
      streamingResumedMsBelow: 1000,
      streamingResumedMet: resumeMs < 1000,
      peakRssMbBelow: 300,
      peakRssMet: mb(peakDuringSnapshot) < 300,
    },
  }
  const out = join(import.meta.dirname, 'results')
  await mkdir(out, { recursive: true })
  await writeFile(join(out, 'snapshot.json'), `${JSON.stringify(results, null, 2)}\n`)
  console.log(`wrote bench/results/snapshot.json`)
} finally {
  await sluice.close()
  await pgServer.destroy()
  await rm(dir, { recursive: true, force: true })
}
