/**
 * The one place that lists connector kinds. Adding a kind = one folder under `connectors/` and one line here.
 */
import type { ConnectorSpec } from './connector-spec.js'
import type { DestinationConnector } from './destinations/destination.js'
import { httpsinkDestination } from './destinations/httpsink/httpsink-destination.js'
import { postgresqlDestination } from './destinations/postgresql/postgresql-destination.js'
import { postgresConnector } from './postgres/postgres-connector.js'
import { POSTGRES_SOURCE_SPEC } from './postgres/postgres-spec.js'
import type { SourceConnector } from './source.js'

const SOURCE_SPECS: readonly ConnectorSpec[] = [POSTGRES_SOURCE_SPEC]
const SOURCE_CONNECTORS: readonly SourceConnector[] = [postgresConnector]
const DESTINATION_CONNECTORS: readonly DestinationConnector[] = [postgresqlDestination, httpsinkDestination]

/** The implementation that writes to destinations of a connector kind. */
export function destinationConnector(code: string): DestinationConnector | undefined {
  return DESTINATION_CONNECTORS.find((c) => c.code === code)
}

/** The implementation that runs sources of a connector kind. */
export function sourceConnector(code: string): SourceConnector | undefined {
  return SOURCE_CONNECTORS.find((c) => c.code === code)
}

export const connectorCatalog = {
  sourceSpecs: (): readonly ConnectorSpec[] => SOURCE_SPECS,
  sourceSpec: (code: string): ConnectorSpec | undefined => SOURCE_SPECS.find((s) => s.code === code),
  destinationSpecs: (): readonly ConnectorSpec[] => DESTINATION_CONNECTORS.map((c) => c.spec),
  destinationSpec: (code: string): ConnectorSpec | undefined => destinationConnector(code)?.spec,
}
