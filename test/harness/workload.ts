/**
 * A concurrent write workload for crash and restart tests: `workers` connections, each running random multi-statement
 * transactions (inserts, updates, deletes) on its own slice of ids of one table `(id int PRIMARY KEY, version int,
 * payload text)`. Every row change bumps the row's `version`, and every committed change is recorded, so a test can
 * check that each one reached the topic, not only the final state.
 *
 * The workload survives the database going away: a failed transaction is retried on a new connection. A failure
 * during COMMIT leaves the outcome unknown, so that transaction is not recorded and the worker re-reads its rows
 * from the table (the rebuild-and-compare check still covers it).
 */
import { setTimeout as delay } from 'node:timers/promises'
import pg from 'pg'
import type { TestPostgres } from './postgres.js'
import type { ApiClient } from './api-client.js'
import { type TopicRecord, changeEvents, readTopic } from './topic-reader.js'
import { waitFor } from './wait-for.js'
import { mulberry32 } from './seeded-random.js'

export interface CommittedChange {
  op: 'c' | 'u' | 'd'
  id: number
  version: number
}

export interface WorkloadOptions {
  table: string
  workers?: number
  /** Stop each worker after this many committed transactions; default: run until `stop()`. */
  transactionsPerWorker?: number
  /** Row changes per transaction: 1..maxOpsPerTransaction. */
  maxOpsPerTransaction?: number
  seed?: number
}

export interface Workload {
  /** Committed transactions so far (all workers). */
  readonly committedTransactions: number
  readonly changes: CommittedChange[]
  /** Transactions whose COMMIT failed with an unknown outcome. */
  readonly uncertainTransactions: number
  /** Stops the workers after their current transaction and resolves when they have. */
  stop(): Promise<void>
  /** Resolves when every worker has finished (after `transactionsPerWorker`, or `stop()`). */
  done: Promise<void>
}

/** Creates the workload's table. */
export async function createWorkloadTable(pgServer: TestPostgres, table: string): Promise<void> {
  await pgServer.query(`CREATE TABLE ${table} (id int PRIMARY KEY, version int NOT NULL, payload text NOT NULL)`)
}

export function startWorkload(pgServer: TestPostgres, options: WorkloadOptions): Workload {
  const workers = options.workers ?? 2
  const state = { committed: 0, uncertain: 0, stopped: false }
  const changes: CommittedChange[] = []
  const done = Promise.all(
    Array.from({ length: workers }, (_, index) => runWorker({ pgServer, options, index, workers, state, changes })),
  ).then(() => undefined)
  return {
    get committedTransactions() {
      return state.committed
    },
    get uncertainTransactions() {
      return state.uncertain
    },
    changes,
    async stop() {
      state.stopped = true
      await done
    },
    done,
  }
}

interface WorkerContext {
  pgServer: TestPostgres
  options: WorkloadOptions
  index: number
  workers: number
  state: { committed: number; uncertain: number; stopped: boolean }
  changes: CommittedChange[]
}

async function runWorker(ctx: WorkerContext): Promise<void> {
  const { options, index, workers, state } = ctx
  const random = mulberry32((options.seed ?? 1) * 1000 + index)
  const live = new Map<number, number>()
  let nextId = index + workers
  let transactions = 0
  let client: pg.Client | null = null
  const limit = options.transactionsPerWorker ?? Number.POSITIVE_INFINITY
  while (!state.stopped && transactions < limit) {
    if (!client) {
      client = await connect(ctx)
      if (!client) continue
      await resync(client, ctx, live)
      nextId = Math.max(nextId, ...[...live.keys()].map((id) => id + workers))
    }
    const staged: CommittedChange[] = []
    const model = new Map(live)
    let committing = false
    try {
      await client.query('BEGIN')
      const ops = 1 + Math.floor(random() * (options.maxOpsPerTransaction ?? 5))
      const newId = () => (nextId += workers) - workers
      for (let i = 0; i < ops; i++) staged.push(await change(client, options.table, model, random, newId))
      committing = true
      await client.query('COMMIT')
    } catch {
      if (committing) state.uncertain++
      await client.end().catch(() => undefined)
      client = null
      continue
    }
    live.clear()
    for (const [id, version] of model) live.set(id, version)
    ctx.changes.push(...staged)
    state.committed++
    transactions++
  }
  await client?.end().catch(() => undefined)
}

async function change(
  client: pg.Client,
  table: string,
  model: Map<number, number>,
  random: () => number,
  newId: () => number,
): Promise<CommittedChange> {
  const roll = random()
  const ids = [...model.keys()]
  const payload = `p${Math.floor(random() * 1e9)}`
  if (ids.length < 5 || roll < 0.45) {
    const id = newId()
    await client.query(`INSERT INTO ${table} (id, version, payload) VALUES ($1, 1, $2)`, [id, payload])
    model.set(id, 1)
    return { op: 'c', id, version: 1 }
  }
  const id = ids[Math.floor(random() * ids.length)]
  const version = model.get(id) as number
  if (roll < 0.85) {
    await client.query(`UPDATE ${table} SET version = $2, payload = $3 WHERE id = $1`, [id, version + 1, payload])
    model.set(id, version + 1)
    return { op: 'u', id, version: version + 1 }
  }
  await client.query(`DELETE FROM ${table} WHERE id = $1`, [id])
  model.delete(id)
  return { op: 'd', id, version }
}

/** Connects, or returns null after a short pause when the server is not there (it may be restarting). */
async function connect(ctx: WorkerContext): Promise<pg.Client | null> {
  const client = new pg.Client(ctx.pgServer.config())
  client.on('error', () => undefined)
  try {
    await client.connect()
    return client
  } catch {
    await client.end().catch(() => undefined)
    // A retry pace for a server that is down, not a wait for a test condition.
    await delay(100)
    return null
  }
}

/** Reloads this worker's rows (its ids are those ≡ index mod workers). */
async function resync(client: pg.Client, ctx: WorkerContext, live: Map<number, number>): Promise<void> {
  const sql = `SELECT id, version FROM ${ctx.options.table} WHERE id % $1 = $2`
  const { rows } = await client.query(sql, [ctx.workers, ctx.index])
  live.clear()
  for (const r of rows) live.set(r.id as number, r.version as number)
}

/** Committed changes that have no event in the topic (an insert/update by (id, version), a delete by id). */
export function missingChanges(changes: CommittedChange[], records: TopicRecord[]): CommittedChange[] {
  const written = new Set<string>()
  const deleted = new Set<number>()
  for (const event of changeEvents(records)) {
    if (event.op === 'd') deleted.add(event.before.id)
    else if (event.after) written.add(`${event.after.id}:${event.after.version}`)
  }
  return changes.filter((c) => (c.op === 'd' ? !deleted.has(c.id) : !written.has(`${c.id}:${c.version}`)))
}

/** Waits until every committed change is in the topic; fails with how many are still missing. */
export async function waitForChanges(api: ApiClient, topic: string, changes: CommittedChange[], timeoutMs = 90_000): Promise<void> {
  await waitFor(async () => missingChanges(changes, await readTopic(api, topic)).length, (n) => n === 0, {
    timeoutMs,
    intervalMs: 250,
    message: `every committed change in ${topic} (value: how many are missing)`,
  })
}

/** The table's rows, sorted by id, as plain objects (the shape the rebuilt rows have). */
export async function tableRows(pgServer: TestPostgres, table: string): Promise<Array<Record<string, unknown>>> {
  return (await pgServer.query(`SELECT * FROM ${table} ORDER BY id`)).rows
}
