/**
 * The one place that lists connector kinds. Adding a kind = one folder under `connectors/` and one line here.
 */
import type { ConnectorSpec } from './connector-spec.js'
import { POSTGRES_SOURCE_SPEC } from './postgres/postgres-spec.js'

const SOURCE_SPECS: readonly ConnectorSpec[] = [POSTGRES_SOURCE_SPEC]

export const connectorCatalog = {
  sourceSpecs: (): readonly ConnectorSpec[] => SOURCE_SPECS,
  sourceSpec: (code: string): ConnectorSpec | undefined => SOURCE_SPECS.find((s) => s.code === code),
}
