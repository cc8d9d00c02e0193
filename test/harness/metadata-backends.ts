/**
 * The metadata backends every store-facing suite runs against (Kysely's DIALECTS loop): embedded SQLite, and a real
 * PostgreSQL started for the suite.
 */
import { type TestPostgres, startPostgres } from './postgres.js'

export interface MetadataBackend {
  name: 'sqlite' | 'postgres'
  /** Starts what the backend needs; returns the metadata URL to give Sluice (undefined = SQLite). */
  setup(): Promise<string | undefined>
  teardown(): Promise<void>
}

let counter = 0

export function metadataBackends(): MetadataBackend[] {
  let pg: TestPostgres | undefined
  return [
    { name: 'sqlite', setup: async () => undefined, teardown: async () => {} },
    {
      name: 'postgres',
      async setup() {
        pg ??= await startPostgres()
        const db = `sluice_meta_${process.pid}_${++counter}`
        await pg.createDatabase(db)
        return pg.url(db)
      },
      async teardown() {
        await pg?.destroy()
        pg = undefined
      },
    },
  ]
}
