/**
 * HTTP load on `GET /sources` (the embedded SQLite default, 25 sources, page_size 10, a real bearer token checked
 * on every request) at a fixed 2,000 requests/s, beside a bare Node HTTP server answering the same JSON body at the
 * same rate in the same run — the raw baseline. Prints achieved rate and latency percentiles; writes
 * bench/results/http-sources.json with the load average before and after (other work on the machine skews it: run it
 * when `uptime` is low). autocannon keeps 32 connections and paces requests on them, so a server slower than the
 * rate shows as a lower achieved rate rather than as queueing latency: the target needs both the rate and the p99.
 * The server's CPU time per request (this process runs the server; autocannon runs in a child) is reported too: it
 * is what other load on the machine changes least, so it is the figure to compare between runs.
 * Run: `npx tsx bench/http-sources.bench.ts [seconds]`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import type autocannon from 'autocannon'
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import pino from 'pino'
import { loadConfig } from '../src/config/config.js'
import { startSluice } from '../src/main.js'

const RATE = 2000
const AUTOCANNON = join(createRequire(import.meta.url).resolve('autocannon'), '..', 'autocannon.js')
const SECONDS = Number(process.argv[2] ?? 20)

interface Figures {
  rps: number
  p50: number
  p90: number
  p99: number
  max: number
  errors: number
  non2xx: number
  /** CPU time (user + system) of this process, which runs the server under test, per request answered. */
  cpuUsPerRequest: number
}

/** The load generator runs in its own process, so it does not compete with the server for the event loop. */
async function load(url: string, headers: Record<string, string>): Promise<Figures> {
  const args = [AUTOCANNON, '--json', '-c', '32', '-R', String(RATE), '-d', String(SECONDS)]
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`)
  const cpuBefore = process.cpuUsage()
  const child = spawn(process.execPath, [...args, url], { stdio: ['ignore', 'pipe', 'ignore'] })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  await new Promise((resolve) => child.on('exit', resolve))
  const cpu = process.cpuUsage(cpuBefore)
  const result = JSON.parse(out) as autocannon.Result
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    cpuUsPerRequest: Math.round((cpu.user + cpu.system) / Math.max(1, result.requests.total)),
  }
}

const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'))
const sluice = await startSluice(
  loadConfig({ port: 0, dataDir: dir, logLevel: 'silent' }, { SLUICE_ADMIN_CLIENT_ID: 'bench', SLUICE_ADMIN_SECRET: 'bench-secret' }),
  { logger: pino({ level: 'silent' }) },
)
const tokenRes = await fetch(`${sluice.url}/auth/access-token`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ client_id: 'bench', secret: 'bench-secret' }),
})
const { accessToken } = (await tokenRes.json()) as { accessToken: string }
const auth = { authorization: `Bearer ${accessToken}` }
for (let i = 0; i < 25; i++) {
  const created = await fetch(`${sluice.url}/sources`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: `bench-${i}`,
      connector: 'postgresql',
      config: { 'database.hostname': 'db', 'database.user': 'u', 'database.password': 'p', 'database.dbname': 'd', 'schema.include.list': 'public' },
      desired_state: 'Stopped',
    }),
  })
  if (!created.ok) throw new Error(`creating source ${i}: ${created.status} ${await created.text()}`)
}
const sample = await (await fetch(`${sluice.url}/sources`, { headers: auth })).text()

const raw = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(sample)
})
await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve))
const rawPort = (raw.address() as { port: number }).port

const loadAverage = () => loadavg().map((l) => Number(l.toFixed(2)))
const loadBefore = loadAverage()
console.log(`GET /sources at ${RATE} req/s for ${SECONDS}s (response ${sample.length} bytes); load average ${loadBefore.join(' ')}`)
const baseline = await load(`http://127.0.0.1:${rawPort}/`, {})
const measured = await load(`${sluice.url}/sources`, auth)
raw.close()
await sluice.close()
await rm(dir, { recursive: true, force: true })

const report = {
  bench: 'http-sources',
  at: new Date().toISOString(),
  node: process.version,
  loadAverage: { before: loadBefore, after: loadAverage() },
  target: { rate: RATE, p99_ms_under: 50 },
  sluice: measured,
  raw_node_http: baseline,
  ratio_rps: Math.round((measured.rps / baseline.rps) * 100) / 100,
  pass: measured.rps >= RATE * 0.95 && measured.p99 < 50 && measured.errors === 0 && measured.non2xx === 0,
}
console.table({ sluice: measured, raw_node_http: baseline })
console.log(`ratio (sluice/raw rps): ${report.ratio_rps}; target p99 < 50 ms at ${RATE} req/s: ${report.pass ? 'met' : 'NOT met'} ` +
  `(load average after: ${report.loadAverage.after.join(' ')})`)
await writeFile(join(import.meta.dirname, 'results', 'http-sources.json'), `${JSON.stringify(report, null, 2)}\n`)
