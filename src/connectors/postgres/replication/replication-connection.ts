/**
 * A replication-protocol connection to PostgreSQL (`replication: 'database'`): IDENTIFY_SYSTEM,
 * CREATE_REPLICATION_SLOT … LOGICAL pgoutput, and START_REPLICATION, whose CopyBoth stream (pg-copy-streams'
 * `both()`) becomes a `ReplicationStream`.
 *
 * Exported snapshots: the snapshot named by `createSlot(…, { exportSnapshot: true })` stays importable (with
 * `SET TRANSACTION SNAPSHOT` on another connection) only while this connection runs no other command. Call
 * `keepSnapshotUntil(done)`: every later command on this connection waits until `done` settles, so starting
 * replication cannot invalidate a snapshot that is still being read.
 *
 * Stopping: the `signal` given to `connectReplication` cancels a running command on the server (creating a slot
 * waits for every open transaction, which can take long) and closes the connection; the command rejects with the
 * signal's reason.
 *
 * Backpressure lives in the stream (see replication-stream.ts). Crash behaviour: every failure becomes a
 * `ConnectorError`; the connection holds no state worth saving, and a temporary slot disappears with it.
 */
import { Duplex, type DuplexOptions } from 'node:stream'
import pg from 'pg'
import * as copyStreams from 'pg-copy-streams'
import { backendPid, cancelBackend, endClient, settledWithin } from '../../../util/pg-connection-ending.js'
import { type Lsn, formatLsn, parseLsn } from './lsn.js'
import { toConnectorError } from './replication-errors.js'
import {
  createReplicationStream,
  DEFAULT_HIGH_WATER_MARK_FRAMES,
  type ReplicationStream,
} from './replication-stream.js'
import { assertSlotName } from './slot.js'
import { quoteIdent, quoteLiteral } from './sql.js'

/** Connection settings; a `pg.ClientConfig` fits. */
export interface ReplicationConnectionConfig {
  host?: string
  port?: number
  user?: string
  password?: string | (() => string | Promise<string>)
  database?: string
  ssl?: boolean | object
  connectionTimeoutMillis?: number
  application_name?: string
}

export interface SystemIdentity {
  systemId: string
  timeline: number
  xlogPos: Lsn
  dbName: string | null
}

export interface CreateSlotOptions {
  /** Export a snapshot that sees exactly the data before `consistentPoint` (for the snapshot phase). */
  exportSnapshot: boolean
  /** A slot dropped when this connection ends (tests, one-off reads). */
  temporary?: boolean
}

export interface CreatedSlot {
  slotName: string
  /** The first LSN the slot will stream; the exported snapshot sees everything committed before it. */
  consistentPoint: Lsn
  snapshotName: string | null
}

export interface StartReplicationOptions {
  slot: string
  /** Where to start; the server starts from the slot's confirmed position when this is older. */
  startLsn: Lsn
  publications: readonly string[]
  protocolVersion: 1 | 2
  /** Also stream `pg_logical_emit_message` messages (heartbeats, signals). */
  messages: boolean
  /** Stops the stream (iteration ends); defaults to the connection's signal. */
  signal?: AbortSignal
  /** How often a standby status update goes out even without acknowledgements (default 10 s). */
  statusIntervalMs?: number
  /** Silence from the server after which the stream fails and reconnects (default 60 s; see replication-stream.ts). */
  receiveTimeoutMs?: number
  /** Frames buffered ahead of the consumer before the socket is paused (default 256). */
  highWaterMarkFrames?: number
}

export interface ReplicationConnection {
  identifySystem(): Promise<SystemIdentity>
  createSlot(name: string, options: CreateSlotOptions): Promise<CreatedSlot>
  /** Keeps the connection idle (later commands wait) until `done` settles; see the module comment. */
  keepSnapshotUntil(done: Promise<unknown>): void
  /** Starts streaming; the connection then belongs to the returned stream. */
  startReplication(options: StartReplicationOptions): Promise<ReplicationStream>
  close(): Promise<void>
}

type CopyBothFactory = (text: string, options?: DuplexOptions & { alignOnCopyDataFrame?: boolean }) => Duplex
// The published types of pg-copy-streams lack `both`; the runtime has had it since 5.1.
const copyBoth = (copyStreams as unknown as { both: CopyBothFactory }).both

export interface ConnectReplicationOptions {
  /** Cancels the running command and closes the connection; also ends a stream started without its own signal. */
  signal?: AbortSignal
}

export async function connectReplication(
  config: ReplicationConnectionConfig,
  options: ConnectReplicationOptions = {},
): Promise<ReplicationConnection> {
  options.signal?.throwIfAborted()
  // pgoutput formats values in the walsender's session: UTC text lets timestamptz be re-spelled rather than converted
  // with date arithmetic (formatTimestamptz). Output formatting only; events carry UTC either way. A startup option
  // is fine here: replication connections always go straight to the server, never through a pooler.
  const client = new pg.Client({ ...(config as pg.ClientConfig), replication: 'database', options: '-c TimeZone=UTC' } as pg.ClientConfig)
  // Errors also reach the active query; without a listener an 'error' event would crash the process.
  client.on('error', () => undefined)
  const abortConnect = (): void => void endClient(client)
  options.signal?.addEventListener('abort', abortConnect, { once: true })
  try {
    await client.connect()
  } catch (error) {
    options.signal?.throwIfAborted()
    throw toConnectorError(error, 'replication connection')
  } finally {
    options.signal?.removeEventListener('abort', abortConnect)
  }
  return new PgReplicationConnection(client, config, options.signal)
}

class PgReplicationConnection implements ReplicationConnection {
  private idle: Promise<unknown> = Promise.resolve()
  private streaming = false
  private running = false
  private closing: Promise<void> | undefined
  private readonly onAbort = (): void => void this.abort()

  constructor(
    private readonly client: pg.Client,
    private readonly config: ReplicationConnectionConfig,
    private readonly signal: AbortSignal | undefined,
  ) {
    if (signal?.aborted) void this.close()
    else signal?.addEventListener('abort', this.onAbort, { once: true })
  }

  async identifySystem(): Promise<SystemIdentity> {
    const [row] = await this.command<{ systemid: string; timeline: number; xlogpos: string; dbname: string | null }>(
      'IDENTIFY_SYSTEM',
    )
    return {
      systemId: row.systemid,
      timeline: Number(row.timeline),
      xlogPos: parseLsn(row.xlogpos),
      dbName: row.dbname,
    }
  }

  async createSlot(name: string, options: CreateSlotOptions): Promise<CreatedSlot> {
    assertSlotName(name)
    const temporary = options.temporary ? ' TEMPORARY' : ''
    const snapshot = options.exportSnapshot ? 'export' : 'nothing'
    const [row] = await this.command<{ slot_name: string; consistent_point: string; snapshot_name: string | null }>(
      `CREATE_REPLICATION_SLOT ${quoteIdent(name)}${temporary} LOGICAL pgoutput (SNAPSHOT '${snapshot}')`,
    )
    return {
      slotName: row.slot_name,
      consistentPoint: parseLsn(row.consistent_point),
      snapshotName: row.snapshot_name,
    }
  }

  keepSnapshotUntil(done: Promise<unknown>): void {
    const previous = this.idle
    this.idle = Promise.allSettled([previous, done])
  }

  async startReplication(options: StartReplicationOptions): Promise<ReplicationStream> {
    assertSlotName(options.slot)
    await this.ready()
    this.streaming = true
    const publications = options.publications.map(quoteIdent).join(',')
    const params = [
      `proto_version '${options.protocolVersion}'`,
      `publication_names ${quoteLiteral(publications)}`,
      `messages '${options.messages ? 'true' : 'false'}'`,
    ]
    const start = `SLOT ${quoteIdent(options.slot)} LOGICAL ${formatLsn(options.startLsn)}`
    const sql = `START_REPLICATION ${start} (${params.join(', ')})`
    const copy = copyBoth(sql, {
      alignOnCopyDataFrame: true,
      readableObjectMode: true,
      readableHighWaterMark: options.highWaterMarkFrames ?? DEFAULT_HIGH_WATER_MARK_FRAMES,
    })
    const stream = createReplicationStream({
      copy,
      startLsn: options.startLsn,
      closeConnection: () => this.close(),
      statusIntervalMs: options.statusIntervalMs,
      receiveTimeoutMs: options.receiveTimeoutMs,
      signal: options.signal ?? this.signal,
    })
    // The copy stream reports its own errors to the stream; this promise only mirrors them.
    this.client.query(copy as unknown as pg.Submittable)
    // A stream with its own signal decides when the connection closes (it may drain and acknowledge first).
    if (options.signal) this.signal?.removeEventListener('abort', this.onAbort)
    return stream
  }

  close(): Promise<void> {
    // With a COPY in progress pg destroys the socket; the walsender sees EOF, exits, and releases the slot.
    this.signal?.removeEventListener('abort', this.onAbort)
    this.closing ??= endClient(this.client)
    return this.closing
  }

  private async abort(): Promise<void> {
    // Closing the socket alone would leave the walsender waiting (it does not watch the socket while it waits
    // for locks), so ask the server to cancel first.
    if (this.running) await settledWithin(cancelBackend(this.config as pg.ClientConfig, backendPid(this.client)))
    await this.close()
  }

  private async ready(): Promise<void> {
    this.signal?.throwIfAborted()
    if (this.closing) throw toConnectorError(new Error('connection closed'), 'replication connection')
    if (this.streaming) throw new Error('this replication connection is streaming; open another for commands')
    await this.idle
  }

  private async command<R>(sql: string): Promise<R[]> {
    await this.ready()
    this.running = true
    try {
      const result = await this.client.query(sql)
      return result.rows as R[]
    } catch (error) {
      this.signal?.throwIfAborted()
      throw toConnectorError(error, sql.split(' ')[0])
    } finally {
      this.running = false
    }
  }
}
