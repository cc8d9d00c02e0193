/**
 * HTTP consumption throughput: records/s one consumer-group member can fetch and commit over HTTP
 * (`POST /consumer-groups/{id}/fetch` + `/commit`, real bearer token) from a 1,000,000-record topic, beside the
 * rate at which the same log is read in-process (`TopicLog.read`, same batch size) in the same run — the baseline.
 * Records are ~200-byte JSON values (the size of a small Debezium envelope), so the HTTP path pays for JSON
 * decoding and encoding as a real client would. The consumer runs in a child process so it does not share the
 * server's event loop. Target: HTTP ≥ 30% of the in-process rate. Writes bench/results/http-consume.json.
 * Run: `npx tsx bench/http-consume.bench.ts [records] [fetch size]`.
 */
import { spawn } from 'node:child_process'
import http from 'node:http'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { loadConfig } from '../src/config/config.js'
import { startSluice } from '../src/main.js'
import type { AppendRecord } from '../src/log/topic-log.js'

const TOPIC = 'bench.consume'
const GROUP = 'bench-consumer'
const APPEND_BATCH = 10_000

/** Child mode: fetch + commit until `total` records arrived; prints the elapsed seconds. */
async function consume(url: string, token: string, total: number, fetchSize: number): Promise<void> {
  // node:http with a keep-alive agent: the leanest client Node has (undici's fetch costs more per body chunk).
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 })
  const target = new URL(url)
  const post = (path: string, body: unknown) =>
    new Promise<any>((resolve, reject) => {
      const payload = JSON.stringify(body)
      const req = http.request({
        host: target.hostname, port: target.port, path, method: 'POST', agent,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => {
          const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'))
          if (res.statusCode !== 200) reject(new Error(`${path}: ${res.statusCode} ${JSON.stringify(parsed)}`))
          else resolve(parsed)
        })
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end(payload)
    })
  let memberId: string | undefined
  let received = 0
  let checksum = 0
  const started = performance.now()
  // Pipelined as a high-throughput client would run it (Kafka's fetcher prefetches the same way): while one batch is
  // processed, the fetch of the next is already in flight, and each batch's commit travels beside a later fetch.
  // The server hands out the next records whether or not earlier ones are committed, so nothing is read twice.
  const fetchNext = () => post(`/consumer-groups/${GROUP}/fetch`, { member_id: memberId, topics: [TOPIC], max_records: fetchSize, max_wait_ms: 1000 })
  const first = await fetchNext()
  memberId = first.member_id
  let pending: Promise<any> = Promise.resolve(first)
  let commit: Promise<unknown> = Promise.resolve()
  while (received < total) {
    const batch = await pending
    received += batch.records.length
    pending = received < total ? fetchNext() : Promise.resolve(null)
    for (const r of batch.records) checksum += r.value.after.id
    await commit
    commit = batch.records.length > 0 ? post(`/consumer-groups/${GROUP}/commit`, { member_id: memberId, offsets: batch.next_offsets }) : Promise.resolve()
  }
  await commit
  await pending
  const seconds = (performance.now() - started) / 1000
  process.stdout.write(JSON.stringify({ seconds, received, checksum }))
}

function makeValue(id: number): Buffer {
  return Buffer.from(JSON.stringify({
    before: null,
    after: { id, name: `customer-${id}`, email: `c${id}@example.com`, balance: id % 1000 },
    source: { db: 'shop', table: 'customers', lsn: 1000 + id },
    op: 'c',
    ts_ms: 1_700_000_000_000 + id,
  }))
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 1_000_000)
  const fetchSize = Number(process.argv[3] ?? 10_000)
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-consume-bench-'))
  const config = loadConfig(
    { host: '127.0.0.1', port: 0, dataDir },
    { SLUICE_ADMIN_CLIENT_ID: 'bench', SLUICE_ADMIN_SECRET: 'bench-secret', SLUICE_SECRET_KEY: 'bench-key', SLUICE_LOG_LEVEL: 'silent' },
  )
  const sluice = await startSluice(config, { logger: pino({ level: 'silent' }) })
  try {
    await sluice.log.createTopic(TOPIC, { partitions: 1, retentionMs: -1 })
    const loadStarted = performance.now()
    for (let base = 0; base < total; base += APPEND_BATCH) {
      const records: AppendRecord[] = []
      for (let i = base; i < Math.min(total, base + APPEND_BATCH); i++) records.push({ topic: TOPIC, key: Buffer.from(`k${i}`), value: makeValue(i) })
      await sluice.log.append(records)
    }
    console.log(`loaded ${total} records in ${((performance.now() - loadStarted) / 1000).toFixed(1)} s`)

    // Baseline: the log read in-process, in the same batches the fetch uses (records only, nothing decoded). It is
    // measured before and after the HTTP run and the faster figure is used, so load from elsewhere on the machine
    // during one of them cannot flatter the ratio.
    const readAll = async (): Promise<number> => {
      const started = performance.now()
      let read = 0
      let offset = 0
      while (read < total) {
        const batch = await sluice.log.read(TOPIC, 0, offset, { maxRecords: fetchSize, maxBytes: 16 * 1024 * 1024 })
        read += batch.length
        offset = batch[batch.length - 1].offset + 1
      }
      return total / ((performance.now() - started) / 1000)
    }
    const baselineBefore = await readAll()
    console.log(`in-process read: ${Math.round(baselineBefore)} records/s`)
    // What the consumer's checksum must come to: the sum of every `after.id`.
    const checksum = (total * (total - 1)) / 2

    const token = await tokenFor(sluice.url)
    const before = loadavg()[0]
    const out = await runChild(sluice.url, token, total, fetchSize)
    const httpPerSecond = total / out.seconds
    const baselineAfter = await readAll()
    console.log(`in-process read again: ${Math.round(baselineAfter)} records/s`)
    const inProcessPerSecond = Math.max(baselineBefore, baselineAfter)
    if (out.checksum !== checksum) throw new Error(`checksum mismatch: ${out.checksum} != ${checksum}`)
    const ratio = httpPerSecond / inProcessPerSecond
    console.log(`HTTP fetch+commit: ${Math.round(httpPerSecond)} records/s (${(ratio * 100).toFixed(1)}% of in-process; target ≥ 30%)`)
    const result = {
      bench: 'http-consume',
      at: new Date().toISOString(),
      records: total,
      fetch_size: fetchSize,
      value_bytes: makeValue(total - 1).length,
      in_process_read_records_per_s: Math.round(inProcessPerSecond),
      in_process_read_runs: [Math.round(baselineBefore), Math.round(baselineAfter)],
      http_fetch_commit_records_per_s: Math.round(httpPerSecond),
      ratio: Number(ratio.toFixed(3)),
      client: 'one member in a child process; one fetch prefetched while the previous batch is processed; commits beside later fetches',
      target_ratio: 0.3,
      meets_target: ratio >= 0.3,
      loadavg_before: before,
      loadavg_after: loadavg()[0],
    }
    await writeFile(join(import.meta.dirname, 'results', 'http-consume.json'), `${JSON.stringify(result, null, 2)}\n`)
  } finally {
    await sluice.close()
    await rm(dataDir, { recursive: true, force: true })
  }
}

async function tokenFor(url: string): Promise<string> {
  const res = await fetch(`${url}/auth/access-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: 'bench', secret: 'bench-secret' }) })
  return ((await res.json()) as { accessToken: string }).accessToken
}

function runChild(url: string, token: string, total: number, fetchSize: number): Promise<{ seconds: number; checksum: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, '--consumer', url, token, String(total), String(fetchSize)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`consumer exited with ${code}`))))
  })
}

if (process.argv[2] === '--consumer') {
  const [url, token, total, fetchSize] = process.argv.slice(3)
  await consume(url, token, Number(total), Number(fetchSize))
} else {
  await main()
}
