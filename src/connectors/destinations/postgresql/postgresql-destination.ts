/**
 * The `postgresql` destination kind: one connection per pipeline to the target database, batches planned
 * (`batch-plan.ts`) and applied set-based in one transaction (`postgresql-writer.ts`).
 */
import pg from 'pg'
import type { DestinationConnector, DestinationWriter } from '../destination.js'
import { planBatch, tableNameFor } from './batch-plan.js'
import { POSTGRESQL_DESTINATION_SPEC, readConfig } from './postgresql-config.js'
import { createPostgresqlWriter } from './postgresql-writer.js'

export const postgresqlDestination: DestinationConnector = {
  code: 'postgresql',
  spec: POSTGRESQL_DESTINATION_SPEC,
  batchSize: (config) => readConfig(config).batchSize,

  async open({ config: raw, destinationId }): Promise<DestinationWriter> {
    const config = readConfig(raw)
    const pool = new pg.Pool({
      host: config.host,
      port: config.port,
      user: config.user,
      password: config.password,
      database: config.database,
      ssl: config.ssl ? { rejectUnauthorized: false } : undefined,
      max: 1,
      connectionTimeoutMillis: 10_000,
      application_name: `sluice_destination_${destinationId}`,
    })
    // An idle connection dropped by the server must not crash the process; the next write reconnects.
    pool.on('error', () => undefined)
    const writer = createPostgresqlWriter(config)
    const tableName = tableNameFor(config.tableNameFormat)
    return {
      async write(records) {
        const steps = planBatch(records, config.insertMode, tableName)
        if (steps.length === 0) return
        const client = await pool.connect()
        // The pool listens for errors only on idle clients; between two statements of a batch a dropped connection
        // would otherwise be an unhandled 'error' event (the next statement fails and reports it instead).
        const onError = () => undefined
        client.on('error', onError)
        let broken: Error | undefined
        try {
          await writer.apply(client, steps)
        } catch (err) {
          // After a connection-level failure the client is unusable: discard it instead of returning it to the pool.
          if (!(err instanceof Error && err.name === 'RecordError')) broken = err as Error
          throw err
        } finally {
          client.off('error', onError)
          client.release(broken)
        }
      },
      close: () => pool.end(),
    }
  },
}
