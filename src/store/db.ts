/**
 * Opens the metadata store: embedded SQLite in the data directory by default, or a shared PostgreSQL database when a
 * `postgres://` URL is given. Both are migrated to the latest schema before use.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import { type Compilable, type CompiledQuery, Kysely, Migrator, PostgresDialect, type PostgresPool, type PostgresPoolClient, SqliteDialect } from 'kysely'
import pg from 'pg'
import { settledWithin, socketOf } from '../util/pg-connection-ending.js'
import { migrationProvider } from './migrations/index.js'
import type { Database } from './schema.js'

export type MetadataDialect = 'sqlite' | 'postgres'

export interface MetadataDb {
  db: Kysely<Database>
  dialect: MetadataDialect
  close(): Promise<void>
}

export interface OpenMetadataOptions {
  /** A postgres:// URL, or undefined for SQLite. */
  url?: string
  /** Where the SQLite file lives. */
  dataDir: string
  /** PostgreSQL only: how long a connection or a query may wait for the server (default 30 s; see below). */
  timeoutMs?: number
}

/** Metadata queries are small: one that has had no answer for this long is talking to a server that is not there. */
const METADATA_TIMEOUT_MS = 30_000

export async function openMetadataDb(options: OpenMetadataOptions): Promise<MetadataDb> {
  const metadata = options.url ? openPostgres(options.url, options.timeoutMs ?? METADATA_TIMEOUT_MS) : openSqlite(options.dataDir)
  await migrate(metadata.db)
  return metadata
}

function openSqlite(dataDir: string): MetadataDb {
  mkdirSync(dataDir, { recursive: true })
  const database = new SqliteDatabase(join(dataDir, 'metadata.db'))
  database.pragma('journal_mode = WAL')
  // Metadata changes are few and must survive a crash (offsets, snapshot states): fsync every commit.
  database.pragma('synchronous = FULL')
  database.pragma('busy_timeout = 5000')
  database.pragma('foreign_keys = ON')
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) })
  return { db, dialect: 'sqlite', close: () => db.destroy() }
}

/**
 * Kysely's SQLite driver prepares every statement anew; compiling SQL is most of the cost of a small query (measured
 * under `bench/http-sources.bench.ts`). Statements are reusable and better-sqlite3 is synchronous, so caching them by
 * SQL text is safe. The cache is bounded because `IN (…)` lists produce one text per list length.
 */
function withStatementCache(database: SqliteDatabase.Database): SqliteDialectDatabase {
  const cache = new Map<string, SqliteDatabase.Statement>()
  return {
    close: () => database.close(),
    prepare(sql: string) {
      let statement = cache.get(sql)
      if (!statement) {
        statement = database.prepare(sql)
        if (cache.size >= 500) cache.delete(cache.keys().next().value as string)
        cache.set(sql, statement)
      }
      return statement
    },
  } as unknown as SqliteDialectDatabase
}

type SqliteDialectDatabase = ConstructorParameters<typeof SqliteDialect>[0]['database'] & object

function openPostgres(url: string, timeoutMs: number): MetadataDb {
  // connectionTimeoutMillis bounds both a new connection and the wait for a free one.
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: timeoutMs })
  // An idle pooled connection dropped by the server (restart, failover) must not crash Sluice; the pool replaces it.
  pool.on('error', () => undefined)
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: droppingSilentConnections(pool, timeoutMs) }) })
  return { db, dialect: 'postgres', close: () => db.destroy() }
}

/**
 * The pool, its clients' queries bounded: a query with no answer within `timeoutMs` fails and its connection is
 * dropped, so a metadata database that stops answering (a hung host, a network that drops packets without resetting
 * connections) fails API calls and offset commits with a reason instead of hanging them for ever. Not pg's
 * `query_timeout`: that fails the query but leaves the connection in the pool with the query still running, so the
 * next user of that connection would wait behind it. A dropped connection is not queryable, so the pool discards
 * it on release and opens a new one when needed.
 */
function droppingSilentConnections(pool: pg.Pool, timeoutMs: number): PostgresPool {
  /** Clients given a listener for the error pg emits when their connection is dropped while checked out. */
  const listening = new WeakSet<pg.PoolClient>()
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect()
      if (!listening.has(client)) {
        client.on('error', () => undefined)
        listening.add(client)
      }
      let dropped = false
      const drop = () => {
        dropped = true
        socketOf(client)?.destroy()
      }
      return {
        query: ((...args: Parameters<pg.PoolClient['query']>) => {
          const result = (client.query as (...a: unknown[]) => unknown)(...args)
          return result instanceof Promise ? answeredWithin(result, timeoutMs, drop) : result
        }) as PostgresPoolClient['query'],
        // A dropped connection leaves the pool at once rather than when its socket's close is noticed.
        release: (destroy?: boolean) => client.release(dropped || destroy === true),
      }
    },
    end: () => pool.end(),
  }
}

/** `query`'s outcome, or after `timeoutMs` with no answer, `drop()` and a rejection with the reason. */
async function answeredWithin<T>(query: Promise<T>, timeoutMs: number, drop: () => void): Promise<T> {
  let answered = false
  await settledWithin(query.finally(() => (answered = true)), timeoutMs)
  if (!answered) {
    drop()
    throw new Error(`the metadata database did not answer within ${timeoutMs / 1000} s; its connection was dropped`)
  }
  return query
}

async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider })
  const { error, results } = await migrator.migrateToLatest()
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName
    throw new Error(`metadata migration ${failed ?? ''} failed: ${String(error)}`, { cause: error })
  }
}

/** True when `err` is a unique-constraint violation on either backend. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string }
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}

/**
 * Runs hot queries without rebuilding them: Kysely builds and compiles a query on every call, which costs more than
 * SQLite's execution of a small one (measured under `bench/http-sources.bench.ts`). A query is compiled once per
 * `shape` — a key the caller derives from everything that changes the SQL text (which filters are present, list
 * lengths, sort) — with a distinct marker in place of each value, and the markers tell which value goes into which
 * parameter, in whatever order the dialect emits them. A shape whose markers do not all come back as parameters
 * (a dialect that inlines a value) is never reused: it is built and executed anew each time, as before.
 */
export function createQueryCache(db: Kysely<Database>, maxShapes = 200) {
  const cache = new Map<string, { compiled: CompiledQuery; slots: number[] } | null>()

  function prepare(shape: string, values: readonly unknown[], build: (values: readonly unknown[]) => Compilable<unknown>) {
    let entry = cache.get(shape)
    if (entry !== undefined) return entry
    const markers = values.map((v, i) => (typeof v === 'number' ? -987_654_321_000 - i : `\u0000sluice-param-${i}`))
    const compiled = build(markers).compile()
    const slots = compiled.parameters.map((p) => (markers as unknown[]).indexOf(p))
    const complete = !slots.includes(-1) && markers.every((_, i) => slots.includes(i))
    const inlined = markers.some((m) => compiled.sql.includes(String(m)))
    entry = complete && !inlined ? { compiled, slots } : null
    if (cache.size < maxShapes) cache.set(shape, entry)
    return entry
  }

  return {
    /** The rows of `build(values)`, from the cached compilation of `shape` when there is one. */
    async rows<R>(shape: string, values: readonly unknown[], build: (values: readonly unknown[]) => Compilable<R>): Promise<R[]> {
      const entry = prepare(shape, values, build)
      const compiled = entry ? { ...entry.compiled, parameters: entry.slots.map((s) => values[s]) } : build(values).compile()
      return (await db.executeQuery(compiled as CompiledQuery<R>)).rows
    },
  }
}
