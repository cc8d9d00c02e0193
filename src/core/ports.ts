/**
 * The interfaces core needs and other parts implement (wired together in `main.ts`), so core never imports the
 * runtime, connectors or the HTTP layer.
 */
import type { ConnectorSpec } from '../connectors/connector-spec.js'
import type { Source } from './sources/source.js'

export interface ConnectorCatalog {
  sourceSpecs(): readonly ConnectorSpec[]
  sourceSpec(code: string): ConnectorSpec | undefined
}

export type SourceAction = 'pause' | 'resume' | 'restart' | 'stop'

/** What removing a source's database resources achieved; `warnings` say what could not be cleaned up. */
export interface CleanupReport {
  warnings: string[]
}

/**
 * The runtime as core sees it: it owns connector status. Core tells it when a source's desired state or config
 * changed, and asks it to remove a source's task and the database resources it created.
 */
export interface SourceRuntime {
  reconcile(source: Source): Promise<void>
  /** Stops the source's task and reconciles it again: started afresh from its stored config if it is Active. */
  restart(source: Source): Promise<void>
  remove(source: Source): Promise<CleanupReport>
  /** Topic names the source writes to (known after it has started at least once). */
  topicsOf(source: Source): Promise<string[]>
}

/** Used until a runtime is attached (and by tests of the API alone): sources exist but never run. */
export const INERT_RUNTIME: SourceRuntime = {
  reconcile: async () => {},
  restart: async () => {},
  remove: async () => ({ warnings: [] }),
  topicsOf: async () => [],
}
