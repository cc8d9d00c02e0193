/** The source entity as the domain sees it (secrets decrypted only where a caller asks for them). */
import type { ConnectorEntity } from '../connector-entity.js'

export const CONNECTOR_STATUSES = ['Active', 'Paused', 'Stopped', 'Starting', 'Broken', 'Unassigned', 'Unknown', 'Pending'] as const
export type ConnectorStatus = (typeof CONNECTOR_STATUSES)[number]

export const DESIRED_STATES = ['Active', 'Paused', 'Stopped'] as const
export type DesiredState = (typeof DESIRED_STATES)[number]

export type TaskStatuses = Record<string, { state: 'RUNNING' | 'PAUSED' | 'FAILED' | 'UNASSIGNED' | 'STOPPED'; trace?: string; worker_id?: string }>

/** A source is a connector entity (the same lifecycle fields as a destination). */
export type Source = ConnectorEntity
