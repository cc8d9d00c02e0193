/** The destination entity: the same lifecycle fields as a source (Streamkap's Destination shape). */
import type { ConnectorSpec } from '../../connectors/connector-spec.js'
import type { ConnectorEntity } from '../connector-entity.js'

export type Destination = ConnectorEntity

export interface DestinationCatalog {
  destinationSpecs(): readonly ConnectorSpec[]
  destinationSpec(code: string): ConnectorSpec | undefined
}

/**
 * The delivery runtime as core sees it: it owns destination status and the pipeline tasks. Core tells it when a
 * destination's desired state, config or pipelines changed (it reloads what it needs), and asks it to remove things.
 */
export interface DeliveryRuntime {
  reconcile(destinationId: string): Promise<void>
  /** Stops the destination's tasks and starts them again (new connections, offsets reloaded). */
  restart(destinationId: string): Promise<void>
  /** Stops the destination's tasks and deletes its dead-letter topic. */
  removeDestination(destinationId: string): Promise<void>
  /** Stops the pipeline's task and deletes its consumer group. */
  removePipeline(pipelineId: string): Promise<void>
  pipelineMetrics(pipelineId: string): Promise<PipelineMetrics>
}

export interface PipelineMetrics {
  /** Source commit → destination apply of the newest record of the last batch, in ms. */
  latencyMs: number | null
  recordsLag: number
  status: string
  recordsApplied: number
  recordsDeadLettered: number
}
