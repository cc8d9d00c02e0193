/**
 * Every migration, in order. Kysely's Migrator reads them from this map (not from the file system), so a bundled
 * or compiled Sluice migrates the same way. Add a migration = add a file and one line here; never edit a shipped one.
 */
import type { Migration, MigrationProvider } from 'kysely'
import * as foundation from './0001-foundation.js'
import * as sourceOffsets from './0002-source-offsets.js'
import * as snapshots from './0003-snapshots.js'
import * as destinationsPipelines from './0004-destinations-pipelines.js'

const MIGRATIONS: Record<string, Migration> = {
  '0001-foundation': foundation,
  '0002-source-offsets': sourceOffsets,
  '0003-snapshots': snapshots,
  '0004-destinations-pipelines': destinationsPipelines,
}

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
}
