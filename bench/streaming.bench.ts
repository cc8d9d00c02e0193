/**
 * Streaming throughput and latency of a PostgreSQL source: commit in PostgreSQL → event durable in the topic log.
 *
 * Setup: a real PostgreSQL (test/harness/postgres.ts, embedded 17, fsync off as in the tests) with a table of six
 * typed columns (bigint key, text, numeric(12,2), timestamptz, boolean, double precision) and an in-process Sluice
 * (embedded SQLite metadata, embedded topic log with its default fsync 'always'). Sources are created through the
 * HTTP API with `snapshot.mode: no_data` and waited on until `connector_status` is `Active`.
 *
 * Writer: `pgbench` (PostgreSQL 15 client tools, /usr/lib/postgresql/15/bin/pgbench; on another machine
 * `apt-get install postgresql-client` or set SLUICE_BENCH_PGBENCH) with a custom script, several connections,
 * prepared statements. Each transaction is exactly 100 row changes: 40 inserts, 40 updates of the rows the same
 * connection inserted one transaction earlier, 20 deletes of rows from two transactions earlier. pgbench was chosen
 * over a Node writer because it costs the least CPU per commit on this 2-core machine; its own commit rate is
 * reported, since the writer, PostgreSQL and Sluice all share the two cores.
 *
 * How durability is observed: the bench wraps the running log's `append` (the one object the source task appends
 * through) and timestamps each call when its promise resolves — `append` resolves only once its records are durable
 * (DESIGN.md), so that is the "durable in the log" moment, without polling. The commit end is PostgreSQL's commit
 * timestamp: in the paced phase the event's `source.ts_us` (read from the encoded value), in the live phase the
 * record timestamp, which Sluice sets to the commit time in ms (its own log-append time is not recorded anywhere,
 * so the record timestamp cannot serve as the other end). Both clocks are this machine's wall clock. Latency =
 * durable time − commit time, per change event; tombstones are counted apart and not timed. The wrapper costs
 * Sluice's event loop a few per cent (it runs inside the append call's continuation).
 *
 * Phases:
 * 1. Live: N changes (default 1,000,000) committed by the writer while source A streams. Sluice changes/s = N /
 *    (last change durable − first change committed); also the lag left when the writer finished, and commit→log
 *    latency, which under saturation is mostly queueing (the writer outruns Sluice).
 * 2. Replay (same WAL, nothing else running): `pg_recvlogical` (PostgreSQL 15 client, /usr/bin/pg_recvlogical;
 *    apt-get install postgresql-client if missing) on its own slot, created before phase 1, with plugin pgoutput,
 *    `-o proto_version=1 -o publication_names=<source A's publication>`, writing to a file, from its slot to the
 *    end LSN of phase 1: its changes/s is N / wall time from spawn to exit (it exits at `--endpos`). Then Sluice
 *    source B, created before phase 1 and paused during it, is resumed and timed from the resume call until its N
 *    changes are durable. The ratio Sluice / pg_recvlogical is printed for this replay (same WAL, same conditions);
 *    the live rate against pg_recvlogical is printed too.
 * 3. Paced: a steady rate (default 5,000 changes/s = 50 transactions/s, pgbench -R) for ~25 s on source A; p50/p99
 *    commit→log latency at that rate.
 *
 * Targets: replay ratio ≥ 0.5; paced p99 < 100 ms. Asserts nothing; writes bench/results/streaming.json.
 * Run: `npx tsx bench/streaming.bench.ts [--changes 1000000] [--clients 4] [--rate 5000] [--seconds 25]`
 * (or SLUICE_BENCH_CHANGES / _CLIENTS / _RATE / _SECONDS); a quick run: `--changes 100000 --seconds 10`.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import pino from 'pino'
import { loadConfig } from '../src/config/config.js'
import { ABSENT, FIELDS, RecordBatch } from '../src/log/record-batch.js'
import type { AppendRecord, AppendResult } from '../src/log/topic-log.js'
import { startSluice } from '../src/main.js'
import { startPostgres, type TestPostgres } from '../test/harness/postgres.js'

const { values: args } = parseArgs({
  options: {
    changes: { type: 'string', default: process.env.SLUICE_BENCH_CHANGES ?? '1000000' },
    clients: { type: 'string', default: process.env.SLUICE_BENCH_CLIENTS ?? '4' },
    rate: { type: 'string', default: process.env.SLUICE_BENCH_RATE ?? '5000' },
    seconds: { type: 'string', default: process.env.SLUICE_BENCH_SECONDS ?? '25' },
  },
})
const CLIENTS = Math.max(1, Number(args.clients))
const TX_SIZE = 100
const TX_PER_CLIENT = Math.max(1, Math.ceil(Number(args.changes) / TX_SIZE / CLIENTS))
const CHANGES = TX_PER_CLIENT * CLIENTS * TX_SIZE
const PACED_RATE = Number(args.rate)
const PACED_SECONDS = Number(args.seconds)
const PACED_CLIENTS = Math.min(2, CLIENTS)
const PGBENCH = process.env.SLUICE_BENCH_PGBENCH ?? firstExisting(['/usr/lib/postgresql/15/bin/pgbench', '/usr/bin/pgbench'])
const PG_RECVLOGICAL = process.env.SLUICE_BENCH_PG_RECVLOGICAL ?? firstExisting(['/usr/bin/pg_recvlogical', '/usr/lib/postgresql/15/bin/pg_recvlogical'])
/** Waits assume Sluice manages at least this many changes/s; beyond that the bench reports a timeout. */
const MIN_RATE = 1000
const TABLE = 'bench_rows'

function firstExisting(paths: string[]): string {
  return paths.find((p) => existsSync(p)) ?? paths[0]
}

const nowMs = () => performance.timeOrigin + performance.now()
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
const load = () => loadavg().map((l) => Number(l.toFixed(2)))

// ---- observation of the log -------------------------------------------------------------------------------------

const TS_US = Buffer.from('"ts_us":')

/** `source.ts_us` of an encoded value, in ms: the first `"ts_us":` is the source block's (no column is named so). */
function commitMs(record: AppendRecord): number {
  const value = record.value as Buffer
  const at = value.indexOf(TS_US)
  if (at < 0) return record.timestamp ?? NaN
  let us = 0
  for (let i = at + TS_US.length; i < value.length; i++) {
    const d = value[i] - 48
    if (d < 0 || d > 9) break
    us = us * 10 + d
  }
  return us / 1000
}

/**
 * Counts one topic's change events as they become durable. `timing`: 'ts_us' reads each event's microsecond commit
 * time from its value (the paced phase), 'ts_ms' uses the record timestamp (Sluice sets it to the commit time in
 * ms: enough for the seconds of queueing in the live phase, and cheaper), 'none' only counts (the replay).
 */
class Probe {
  timing: 'ts_us' | 'ts_ms' | 'none' = 'ts_ms'
  changes = 0
  tombstones = 0
  firstCommitMs = Infinity
  firstDurableMs = 0
  lastDurableMs = 0
  latencies: number[] = []

  reset(): void {
    this.changes = 0
    this.tombstones = 0
    this.firstCommitMs = Infinity
    this.firstDurableMs = 0
    this.lastDurableMs = 0
    this.latencies = []
  }

  /** What observe needs of an append, taken before the call (a RecordBatch's bytes move to the log's thread). */
  summarize(records: AppendRecord[] | RecordBatch): { tombstones: number; committedMs: number[] | null; count: number } {
    if (this.timing === 'none' && records instanceof RecordBatch) {
      const { meta, count } = records.pack()
      let tombstones = 0
      for (let i = 0; i < count; i++) if (meta[i * FIELDS + 5] === ABSENT) tombstones++ // a null value
      return { tombstones, committedMs: null, count }
    }
    const list = records instanceof RecordBatch ? records.toAppendRecords() : records
    const committedMs: number[] = []
    let tombstones = 0
    for (const r of list) {
      if (r.value === null) tombstones++
      else if (this.timing !== 'none') committedMs.push(this.timing === 'ts_us' ? commitMs(r) : (r.timestamp as number))
    }
    return { tombstones, committedMs: this.timing === 'none' ? null : committedMs, count: list.length }
  }

  observe(summary: ReturnType<Probe['summarize']>, durableMs: number): void {
    this.tombstones += summary.tombstones
    this.changes += summary.count - summary.tombstones
    for (const committed of summary.committedMs ?? []) {
      if (committed < this.firstCommitMs) this.firstCommitMs = committed
      this.latencies.push(durableMs - committed)
    }
    if (this.firstDurableMs === 0) this.firstDurableMs = durableMs
    this.lastDurableMs = durableMs
  }

  async waitFor(changes: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (this.changes < changes) {
      if (Date.now() > deadline) return false
      await sleep(20)
    }
    return true
  }
}

function percentiles(values: number[]): { p50: number; p90: number; p99: number; max: number; count: number } {
  const sorted = Float64Array.from(values).sort()
  const at = (q: number) => (sorted.length ? Number(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(1)) : NaN)
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1), count: sorted.length }
}

// ---- processes --------------------------------------------------------------------------------------------------

interface Exited {
  code: number | null
  out: string
  seconds: number
}

function run(command: string, argv: string[], env: Record<string, string>, timeoutMs: number): Promise<Exited> {
  const started = nowMs()
  const child: ChildProcess = spawn(command, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()))
  const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs)
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, out, seconds: (nowMs() - started) / 1000 })
    })
  })
}

const SCRIPT = `\\set n :n + 1
\\set base :client_id * 100000000 + :n * 40
BEGIN;
INSERT INTO ${TABLE} (id, customer, amount, created_at, paid, weight)
  SELECT i, 'customer-' || (i % 1000), (i % 100000) / 100.0, now(), i % 2 = 0, i / 7.0
  FROM generate_series(:base, :base + 39) AS i;
UPDATE ${TABLE} SET amount = amount + 1, paid = NOT paid, customer = customer || '+' WHERE id BETWEEN :base - 40 AND :base - 1;
DELETE FROM ${TABLE} WHERE id BETWEEN :base - 80 AND :base - 61;
COMMIT;
`

interface WriterFigures {
  transactions: number
  changes: number
  wallSeconds: number
  /** Changes/s over the writer's wall time (connections included). */
  changesPerSecond: number
  /** pgbench's own tps (without connection time) × 100. */
  pgbenchChangesPerSecond: number
  latencyAvgMs: number | null
}

async function pgbench(pg: TestPostgres, script: string, extra: string[], clients: number, timeoutMs: number): Promise<WriterFigures> {
  const argv = ['-n', '-M', 'prepared', '-h', '127.0.0.1', '-p', String(pg.port), '-U', pg.user, '-c', String(clients), '-j',
    String(clients), '-f', script, ...extra, 'postgres']
  const result = await run(PGBENCH, argv, { PGPASSWORD: pg.password }, timeoutMs)
  if (result.code !== 0) throw new Error(`pgbench exited with ${result.code}:\n${result.out}`)
  const processed = Number(/actually processed: (\d+)/.exec(result.out)?.[1] ?? NaN)
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(result.out)?.[1] ?? NaN)
  const latency = /latency average = ([\d.]+) ms/.exec(result.out)
  return {
    transactions: processed,
    changes: processed * TX_SIZE,
    wallSeconds: Number(result.seconds.toFixed(2)),
    changesPerSecond: Math.round((processed * TX_SIZE) / result.seconds),
    pgbenchChangesPerSecond: Math.round(tps * TX_SIZE),
    latencyAvgMs: latency ? Number(latency[1]) : null,
  }
}

/** SLUICE_BENCH_CPU_PROFILE=<dir>: a CPU profile of this process during Sluice's replay (for Chrome DevTools). */
const PROFILE_DIR = process.env.SLUICE_BENCH_CPU_PROFILE

async function startProfile(): Promise<{ stop(): Promise<string> }> {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop')
      const file = join(PROFILE_DIR as string, `streaming-replay-${Date.now()}.cpuprofile`)
      await writeFile(file, JSON.stringify(profile))
      session.disconnect()
      return file
    },
  }
}

// ---- main -------------------------------------------------------------------------------------------------------

console.log(`streaming bench: ${fmt(CHANGES)} changes in transactions of ${TX_SIZE} over ${CLIENTS} connections; ` +
  `paced ${fmt(PACED_RATE)} changes/s for ${PACED_SECONDS}s; node ${process.version}; load ${load().join(' ')}`)
const loadAtStart = load()
const dir = await mkdtemp(join(tmpdir(), 'sluice-stream-bench-'))
const pg = await startPostgres({ settings: { max_wal_size: '8GB', checkpoint_timeout: '30min', shared_buffers: '256MB' } })
const sluice = await startSluice(
  loadConfig({ host: '127.0.0.1', port: 0, dataDir: join(dir, 'sluice'), logLevel: 'silent' },
    { SLUICE_ADMIN_CLIENT_ID: 'bench', SLUICE_ADMIN_SECRET: 'bench-secret', SLUICE_SECRET_KEY: 'bench-key' }),
  { logger: pino({ level: 'silent' }) },
)

const probes = new Map<string, Probe>()
const appendDurably = sluice.log.append.bind(sluice.log)
sluice.log.append = async (records: AppendRecord[] | RecordBatch): Promise<AppendResult[]> => {
  const topic = records instanceof RecordBatch ? records.topicNames()[0] : records[0]?.topic
  const probe = topic === undefined ? undefined : probes.get(topic)
  const summary = probe?.summarize(records)
  const results = await appendDurably(records)
  const durable = nowMs()
  if (probe && summary) probe.observe(summary, durable)
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
  accessToken = (await api<{ accessToken: string }>('POST', '/auth/access-token', { client_id: 'bench', secret: 'bench-secret' }))
    .accessToken
  async function waitForStatus(id: string, status: string): Promise<void> {
    const deadline = Date.now() + 60_000
    for (;;) {
      const { result } = await api<{ result: Array<{ connector_status: string; status_reason: string | null }> }>('GET', `/sources/${id}`)
      if (result[0].connector_status === status) return
      if (Date.now() > deadline) throw new Error(`source ${id} not ${status}: ${JSON.stringify(result[0])}`)
      await sleep(100)
    }
  }
  async function createSource(name: string): Promise<{ id: string; topic: string; publication: string }> {
    const config = {
      'database.hostname': '127.0.0.1', 'database.port': pg.port, 'database.user': pg.user, 'database.password': pg.password,
      'database.dbname': 'postgres', 'schema.include.list': 'public', 'table.include.list': `public.${TABLE}`,
      'snapshot.mode': 'no_data',
    }
    const { id } = await api<{ id: string }>('POST', '/sources', { name, connector: 'postgresql', config })
    await waitForStatus(id, 'Active')
    const topic = `source_${id}.public.${TABLE}`
    probes.set(topic, new Probe())
    return { id, topic, publication: `sluice_pub_${id}` }
  }

  await pg.query(`CREATE TABLE ${TABLE} (id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2), ` +
    'created_at timestamptz, paid boolean, weight double precision)')
  // The rows the first transaction of each connection updates and deletes (before any slot exists: not streamed).
  await pg.query(`INSERT INTO ${TABLE} SELECT c * 100000000 + k, 'seed', 0, now(), false, 0 ` +
    `FROM generate_series(0, ${CLIENTS - 1}) AS c, generate_series(0, 79) AS k`)
  const live = await createSource('bench-live')
  const replay = await createSource('bench-replay')
  await api('POST', `/sources/${replay.id}/actions/pause`)
  await waitForStatus(replay.id, 'Paused')
  const recvSlot = 'bench_pg_recvlogical'
  await pg.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [recvSlot])
  const script = join(dir, 'workload.sql')
  await writeFile(script, SCRIPT)
  const liveProbe = probes.get(live.topic) as Probe
  const replayProbe = probes.get(replay.topic) as Probe
  replayProbe.timing = 'none'

  // Phase 1: live.
  console.log(`\nphase 1 (live): pgbench writing ${fmt(CHANGES)} changes while source A streams…`)
  const writer = await pgbench(pg, script, ['-t', String(TX_PER_CLIENT), '-D', 'n=1'], CLIENTS, 30 * 60_000)
  const writerEnded = nowMs()
  const endLsn = (await pg.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn
  const lagAtWriterEnd = CHANGES - liveProbe.changes
  const liveDone = await liveProbe.waitFor(CHANGES, (CHANGES / MIN_RATE) * 1000)
  const liveSeconds = (liveProbe.lastDurableMs - liveProbe.firstCommitMs) / 1000
  const liveFigures = {
    changes: liveProbe.changes,
    tombstones: liveProbe.tombstones,
    completed: liveDone,
    seconds: Number(liveSeconds.toFixed(2)),
    changesPerSecond: Math.round(liveProbe.changes / liveSeconds),
    lagChangesAtWriterEnd: lagAtWriterEnd,
    drainSecondsAfterWriterEnd: Number(((liveProbe.lastDurableMs - writerEnded) / 1000).toFixed(2)),
    latencyMs: percentiles(liveProbe.latencies),
  }
  console.log(`writer (pgbench, ${CLIENTS} connections): ${fmt(writer.changesPerSecond)} changes/s committed ` +
    `(${fmt(writer.pgbenchChangesPerSecond)} by pgbench's tps), ${writer.wallSeconds}s`)
  console.log(`sluice live: ${fmt(liveFigures.changesPerSecond)} changes/s commit→durable over ${liveFigures.seconds}s; ` +
    `${fmt(lagAtWriterEnd)} changes behind when the writer finished, drained ${liveFigures.drainSecondsAfterWriterEnd}s ` +
    `later; latency p50 ${liveFigures.latencyMs.p50} ms p99 ${liveFigures.latencyMs.p99} ms (queueing: writer outruns)`)

  // Phase 2: replay of the same WAL, nothing else running.
  console.log(`\nphase 2 (replay to ${endLsn}): pg_recvlogical, then Sluice source B…`)
  await sleep(1000)
  const loadBeforeReplay = load()
  // A record past the end LSN, so the walsender has something to report beyond --endpos even when idle.
  await pg.query("SELECT pg_logical_emit_message(false, 'sluice-bench', 'end')")
  const recvFile = join(dir, 'pg_recvlogical.out')
  const recv = await run(PG_RECVLOGICAL, ['-h', '127.0.0.1', '-p', String(pg.port), '-U', pg.user, '-d', 'postgres',
    '-S', recvSlot, '--start', '--no-loop', '-E', endLsn, '-o', 'proto_version=1', '-o', `publication_names=${live.publication}`,
    '-f', recvFile], { PGPASSWORD: pg.password }, (CHANGES / MIN_RATE) * 1000)
  const recvBytes = existsSync(recvFile) ? (await stat(recvFile)).size : 0
  const recvFigures = {
    exitCode: recv.code,
    seconds: Number(recv.seconds.toFixed(2)),
    bytes: recvBytes,
    changesPerSecond: Math.round(CHANGES / recv.seconds),
    megabytesPerSecond: Number((recvBytes / 1e6 / recv.seconds).toFixed(1)),
    output: recv.code === 0 ? undefined : recv.out.slice(0, 2000),
  }
  console.log(`pg_recvlogical: ${fmt(recvFigures.changesPerSecond)} changes/s (${recvFigures.seconds}s, ` +
    `${fmt(recvBytes)} bytes, ${recvFigures.megabytesPerSecond} MB/s, exit ${recv.code})`)
  await sleep(1000)
  const profiler = PROFILE_DIR ? await startProfile() : undefined
  const resumed = nowMs()
  await api('POST', `/sources/${replay.id}/actions/resume`)
  const replayDone = await replayProbe.waitFor(CHANGES, (CHANGES / MIN_RATE) * 1000)
  if (profiler) console.log(`cpu profile of the replay: ${await profiler.stop()}`)
  const replaySeconds = (replayProbe.lastDurableMs - resumed) / 1000
  const replayFigures = {
    changes: replayProbe.changes,
    completed: replayDone,
    seconds: Number(replaySeconds.toFixed(2)),
    changesPerSecond: Math.round(replayProbe.changes / replaySeconds),
    /** Without the task's start-up (connections, preflight checks): from the first append to the last. */
    changesPerSecondFromFirstAppend: Math.round(replayProbe.changes / ((replayProbe.lastDurableMs - replayProbe.firstDurableMs) / 1000)),
    startupSeconds: Number(((replayProbe.firstDurableMs - resumed) / 1000).toFixed(2)),
  }
  await api('POST', `/sources/${replay.id}/actions/pause`)
  console.log(`sluice replay: ${fmt(replayFigures.changesPerSecond)} changes/s (${replayFigures.seconds}s from resume to ` +
    `the last change durable; ${fmt(replayFigures.changesPerSecondFromFirstAppend)}/s after its first append, ` +
    `${replayFigures.startupSeconds}s after resume)`)
  const ratioReplay = Number((replayFigures.changesPerSecond / recvFigures.changesPerSecond).toFixed(2))
  const ratioLive = Number((liveFigures.changesPerSecond / recvFigures.changesPerSecond).toFixed(2))
  console.log(`ratio sluice / pg_recvlogical: replay ${ratioReplay} (target ≥ 0.5: ${ratioReplay >= 0.5 ? 'met' : 'NOT met'}), ` +
    `live ${ratioLive}`)

  // Phase 3: paced.
  const pacedTps = PACED_RATE / TX_SIZE
  console.log(`\nphase 3 (paced): ${fmt(PACED_RATE)} changes/s (${pacedTps} tx/s over ${PACED_CLIENTS} connections) ` +
    `for ${PACED_SECONDS}s…`)
  await sleep(2000)
  const loadBeforePaced = load()
  liveProbe.reset()
  liveProbe.timing = 'ts_us'
  const paced = await pgbench(pg, script, ['-R', String(pacedTps), '-T', String(PACED_SECONDS), '-D', `n=${TX_PER_CLIENT + 1}`],
    PACED_CLIENTS, (PACED_SECONDS + 60) * 1000)
  const pacedDone = await liveProbe.waitFor(paced.changes, 60_000)
  const pacedFigures = {
    writer: paced,
    changes: liveProbe.changes,
    completed: pacedDone,
    latencyMs: percentiles(liveProbe.latencies),
  }
  const pacedMet = pacedDone && pacedFigures.latencyMs.p99 < 100
  console.log(`writer committed ${fmt(paced.changesPerSecond)} changes/s; sluice commit→durable latency ` +
    `p50 ${pacedFigures.latencyMs.p50} ms, p90 ${pacedFigures.latencyMs.p90} ms, p99 ${pacedFigures.latencyMs.p99} ms, ` +
    `max ${pacedFigures.latencyMs.max} ms (target p99 < 100 ms: ${pacedMet ? 'met' : 'NOT met'})`)

  const report = {
    bench: 'streaming',
    at: new Date().toISOString(),
    node: process.version,
    loadAverage: { start: loadAtStart, beforeReplay: loadBeforeReplay, beforePaced: loadBeforePaced, end: load() },
    workload: { changes: CHANGES, transactionSize: TX_SIZE, mix: '40 insert / 40 update / 20 delete', clients: CLIENTS },
    targets: { replayRatioAtLeast: 0.5, pacedP99MsUnder: 100 },
    live: { writer, sluice: liveFigures },
    replay: { endLsn, pg_recvlogical: recvFigures, sluice: replayFigures, ratio: ratioReplay, liveRatio: ratioLive },
    paced: { rate: PACED_RATE, seconds: PACED_SECONDS, clients: PACED_CLIENTS, ...pacedFigures },
    pass: { replayRatio: ratioReplay >= 0.5, pacedLatency: pacedMet },
  }
  await writeFile(join(import.meta.dirname, 'results', 'streaming.json'), `${JSON.stringify(report, null, 2)}\n`)
  console.log('\nwrote bench/results/streaming.json')
} finally {
  await sluice.close()
  await pg.destroy()
  await rm(dir, { recursive: true, force: true })
}
