/**
 * The `postgresql` destination kind: one connection per pipeline to the target database, batches planned
 * (`batch-plan.ts`) and applied set-based in one transaction (`postgresql-writer.ts`).
 */
import pg from 'pg'
import { CLOSE_GRACE_MS, settledWithin, socketOf } from '../../../util/pg-connection-ending.js'
import type { DestinationConnector, DestinationWriter } from '../destination.js'
import { planBatch, tableNameFor } from './batch-plan.js'
import { POSTGRESQL_DESTINATION_SPEC, readConfig } from './postgresql-config.js'
import { createPostgresqlWriter } from './postgresql-writer.js'
import { watchServer } from './server-check.js'

export const postgresqlDestination: DestinationConnector = {
  code: 'postgresql',
  spec: POSTGRESQL_DESTINATION_SPEC,
  batchSize: (config) => readConfig(config).batchSize,

  async open({ config: raw, destinationId }): Promise<DestinationWriter> {
    const config = readConfig(raw)
    const connection: pg.ClientConfig = {
      host: config.host,
      port: config.port,
      user: config.user,
      password: config.password,
      database: config.database,
      ssl: config.ssl ? { rejectUnauthorized: false } : undefined,
      connectionTimeoutMillis: 10_000,
      application_name: `sluice_destination_${destinationId}`,
    }
    const pool = new pg.Pool({ ...connection, max: 1 })
    // An idle connection dropped by the server must not crash the process; the next write reconnects.
    pool.on('error', () => undefined)
    // The pool's connections, so a stop can drop them when the server does not answer (see pg-connection-ending.ts).
    const clients = new Set<pg.Client>()
    pool.on('connect', (client) => clients.add(client))
    pool.on('remove', (client) => clients.delete(client))
    const writer = createPostgresqlWriter(config)
    const tableName = tableNameFor(config.tableNameFormat)
    return {
      async write(records, signal) {
        const steps = planBatch(records, config.insertMode, tableName)
        if (steps.length === 0) return
        // A target that stops answering, mid-batch or before it (while a connection is opened): the batch fails with
        // the reason (and is retried) instead of waiting for ever while the destination looks Active; mid-batch, the
        // connection is dropped so the batch's statement fails at once.
        let client: pg.PoolClient | undefined
        let silence: string | undefined
        const stopWatching = watchServer(connection, config.serverCheckMs, (reason) => {
          silence = reason
          if (client) socketOf(client)?.destroy()
        })
        const failure = (err: unknown) => (silence !== undefined ? new Error(`${silence}; the batch is retried`, { cause: err }) : err)
        try {
          client = await pool.connect()
        } catch (err) {
          stopWatching()
          throw failure(err)
        }
        if (silence !== undefined) {
          // Silent while connecting and answering since: the watch has ended, so this batch goes round again.
          client.release(true)
          throw failure(new Error('the connection opened after the check had no answer'))
        }
        // The pool listens for errors only on idle clients; between two statements of a batch a dropped connection
        // would otherwise be an unhandled 'error' event (the next statement fails and reports it instead).
        const onError = () => undefined
        client.on('error', onError)
        // A stop lets the batch finish for a moment, then drops the connection: the transaction is rolled back and
        // the batch delivered again after the restart (its offsets were not committed).
        let drop: NodeJS.Timeout | undefined
        const onAbort = () => (drop = setTimeout(() => socketOf(client)?.destroy(), CLOSE_GRACE_MS))
        signal.addEventListener('abort', onAbort, { once: true })
        let broken: Error | undefined
        try {
          await writer.apply(client, steps)
        } catch (err) {
          // After a connection-level failure the client is unusable: discard it instead of returning it to the pool.
          if (!(err instanceof Error && err.name === 'RecordError')) broken = err as Error
          throw failure(err)
        } finally {
          stopWatching()
          signal.removeEventListener('abort', onAbort)
          clearTimeout(drop)
          client.off('error', onError)
          client.release(broken)
        }
      },
      async close() {
        await settledWithin(pool.end())
        for (const client of clients) socketOf(client)?.destroy()
      },
    }
  },
}
