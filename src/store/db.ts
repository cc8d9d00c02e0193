/**
 * Opens the metadata store: embedded SQLite in the data directory by default, or a shared PostgreSQL database when a
 * `postgres://` URL is given. Both are migrated to the latest schema before use.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import { type Compilable, type CompiledQuery, Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely'
import pg from 'pg'
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
}

export async function openMetadataDb(options: OpenMetadataOptions): Promise<MetadataDb> {
  const metadata = options.url ? openPostgres(options.url) : openSqlite(options.dataDir)
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

function openPostgres(url: string): MetadataDb {
  const pool = new pg.Pool({ connectionString: url, max: 10 })
  // An idle pooled connection dropped by the server (restart, failover) must not crash Sluice; the pool replaces it.
  pool.on('error', () => undefined)
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  return { db, dialect: 'postgres', close: () => db.destroy() }
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
