/** The source entity as the domain sees it (secrets decrypted only where a caller asks for them). */
import type { ConnectorConfig } from './config-validation.js'

export const CONNECTOR_STATUSES = ['Active', 'Paused', 'Stopped', 'Starting', 'Broken', 'Unassigned', 'Unknown', 'Pending'] as const
export type ConnectorStatus = (typeof CONNECTOR_STATUSES)[number]

export const DESIRED_STATES = ['Active', 'Paused', 'Stopped'] as const
export type DesiredState = (typeof DESIRED_STATES)[number]

export type TaskStatuses = Record<string, { state: 'RUNNING' | 'PAUSED' | 'FAILED' | 'UNASSIGNED' | 'STOPPED'; trace?: string; worker_id?: string }>

export interface Source {
  id: string
  name: string
  connector: string
  config: ConnectorConfig
  desiredState: DesiredState
  connectorStatus: ConnectorStatus
  statusReason: string | null
  taskStatuses: TaskStatuses
  tags: string[]
  createdFrom: string
  kcClusterId: string | null
  createdAt: string
  updatedAt: string
}
