/**
 * The `httpsink` destination against a local HTTP server that fails (503, with and without Retry-After), delays past
 * the request timeout, then recovers: every committed change must arrive at least once and each key's changes in
 * order. A receiver that never recovers gets the records dead-lettered after the last retry.
 */
import { createHmac } from 'node:crypto'
import { type IncomingMessage, type Server, createServer } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiClient, adminClient } from '../../harness/api-client.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type TestSluice, startTestSluice } from '../../harness/sluice.js'
import { createSource, pgSourceConfig, topicOf, waitForStatus } from '../../harness/sources.js'
import { readTopic } from '../../harness/topic-reader.js'
import { waitFor } from '../../harness/wait-for.js'
import { createWorkloadTable, startWorkload } from '../../harness/workload.js'
import { createPipeline } from './delivery-helpers.js'

interface Accepted {
  headers: IncomingMessage['headers']
  raw: string
  records: Array<{ topic: string; offset: number; key: any; value: any }>
}

describe('httpsink destination', () => {
  let pg: TestPostgres
  let t: TestSluice
  let api: ApiClient
  let server: Server
  let url: string
  const accepted: Accepted[] = []
  let requests = 0
  const pending = new Set<() => void>()

  beforeAll(async () => {
    pg = await startPostgres()
    await createWorkloadTable(pg, 'accounts')
    server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c) => chunks.push(c))
      req.on('end', () => {
        if (req.url === '/never') {
          res.writeHead(500).end()
          return
        }
        const n = ++requests
        if (n === 1) return void res.writeHead(503, { 'retry-after': '0' }).end()
        if (n <= 3) return void res.writeHead(503).end()
        if (n === 4) {
          // Longer than the sink's timeout: the client gives up and retries; this response is never read.
          const release = () => res.writeHead(200).end()
          pending.add(release)
          return
        }
        const raw = Buffer.concat(chunks).toString()
        accepted.push({ headers: req.headers, raw, records: JSON.parse(raw) })
        res.writeHead(200).end()
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
    t = await startTestSluice()
    api = adminClient(t)
  })
  afterAll(async () => {
    await t?.stop()
    for (const release of pending) release()
    await new Promise<void>((resolve) => server?.close(() => resolve()))
    await pg?.destroy()
  })

  async function destination(name: string, config: Record<string, unknown>): Promise<string> {
    const res = await api.request('POST', '/destinations', { name, connector: 'httpsink', config })
    if (res.status !== 200) throw new Error(`create destination: ${res.status} ${JSON.stringify(res.body)}`)
    return res.body.id
  }

  it('receives every committed change at least once, in per-key order, through failures and a timeout', async () => {
    const sourceId = await createSource(api, pgSourceConfig(pg))
    await waitForStatus(api, sourceId, 'Active')
    const destinationId = await destination('webhook', {
      'http.url': `${url}/ingest`,
      'http.headers': 'Authorization: Bearer abc, X-Team: data',
      'http.signature.secret': 'sign-me',
      'http.timeout.ms': 300,
      'retry.backoff.ms': 20,
      'retry.backoff.max.ms': 200,
      'batch.size': 50,
    })
    await createPipeline(api, sourceId, destinationId)
    const workload = startWorkload(pg, { table: 'accounts', workers: 2, transactionsPerWorker: 150, maxOpsPerTransaction: 4 })
    await workload.done

    const topicRecords = await waitFor(
      () => readTopic(api, topicOf(sourceId, 'accounts')),
      (r) => r.length > 0 && r.filter((x) => x.value !== null).length >= workload.changes.length,
      { timeoutMs: 60_000, message: 'every change in the topic' },
    )
    const lastOffset = topicRecords[topicRecords.length - 1].offset
    await waitFor(() => accepted.flatMap((a) => a.records).some((r) => r.offset === lastOffset), Boolean, {
      timeoutMs: 90_000,
      message: 'the last record delivered',
    })
    expect(requests).toBeGreaterThan(4)

    // At least once: every committed change was received.
    const received = accepted.flatMap((a) => a.records).filter((r) => r.value !== null)
    const seen = new Set(received.map((r) => (r.value.op === 'd' ? `d:${r.value.before.id}` : `${r.value.after.id}:${r.value.after.version}`)))
    const missing = workload.changes.filter((c) => !seen.has(c.op === 'd' ? `d:${c.id}` : `${c.id}:${c.version}`))
    expect(missing).toEqual([])

    // Per-key order: offsets of each key only go forward, except when a whole retried request is received again.
    const byKey = new Map<number, number[]>()
    for (const r of received) {
      const id = r.key.id as number
      byKey.set(id, [...(byKey.get(id) ?? []), r.offset])
    }
    for (const offsets of byKey.values()) {
      const distinct = offsets.filter((o, i) => offsets.indexOf(o) === i)
      expect(distinct).toEqual([...distinct].sort((a, b) => a - b))
    }

    const first = accepted[0]
    expect(first.headers.authorization).toBe('Bearer abc')
    expect(first.headers['x-team']).toBe('data')
    expect(first.headers['x-sluice-signature']).toBe(`sha256=${createHmac('sha256', 'sign-me').update(first.raw).digest('hex')}`)
  })

  it('dead-letters the records after the last retry and goes on', async () => {
    const sourceId = (await api.request('GET', '/sources')).body.result[0].id
    const destinationId = await destination('never-up', { 'http.url': `${url}/never`, 'retries.max': 1, 'retry.backoff.ms': 1, 'batch.size': 500 })
    await createPipeline(api, sourceId, destinationId)
    const topic = await readTopic(api, topicOf(sourceId, 'accounts'))
    const dlq = `destination_${destinationId}.streamkap.deadletterqueue`
    const letters = await waitFor(
      async () => {
        const out = []
        for (let from = 0; ; ) {
          const page = await t.sluice.log.read(dlq, 0, from, { maxRecords: 1000 })
          if (page.length === 0) return out
          out.push(...page)
          from = page[page.length - 1].offset + 1
        }
      },
      (r) => r.length >= topic.length,
      { timeoutMs: 60_000, message: 'every record dead-lettered' },
    )
    expect(letters).toHaveLength(topic.length)
    expect(letters[0].headers['__connect.errors.exception.message']).toMatch(/HTTP 500 .*gave up after 1 retries/)
    const metrics = await waitFor(
      async () => (await api.request('GET', `/pipelines?destination_id=${destinationId}`)).body.result[0],
      (p: any) => Boolean(p),
    )
    const lag = await waitFor(async () => (await api.request('GET', `/pipelines/${metrics.id}/metrics`)).body.data.recordsLag, (n) => n === 0, {
      timeoutMs: 30_000,
      message: 'delivery went on',
    })
    expect(lag).toBe(0)
  })
})
