/**
 * Opens the metadata store: embedded SQLite in the data directory by default, or a shared PostgreSQL database when a
 * `postgres://` URL is given. Both are migrated to the latest schema before use.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely'
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
