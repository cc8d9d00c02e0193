/**
 * Classifies failures of the replication connection where they are caught (Debezium's `PostgresErrorHandler`
 * habit): lost connections, server shutdowns and a slot still held by a dying walsender are retriable; a missing
 * slot, bad credentials or missing privileges are not, because retrying cannot fix them.
 */
import { ConnectorError } from '../../connector-error.js'

/** SQLSTATE classes that describe a transient condition of the server or the network. */
const RETRIABLE_CLASSES = new Set(['08', '53', '57', '40'])
const OBJECT_IN_USE = '55006'
const UNDEFINED_OBJECT = '42704'

/** Node socket error codes meaning the connection went away under us. */
const SOCKET_ERRORS = new Set(['EPIPE', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH'])

export function toConnectorError(error: unknown, action: string): ConnectorError {
  if (error instanceof ConnectorError) return error
  const message = error instanceof Error ? error.message : String(error)
  const code = sqlState(error)
  if (code === UNDEFINED_OBJECT) {
    // A missing slot or publication: someone dropped it, and recreating it silently could skip changes.
    const kind = /replication slot/.test(message) ? 'slot_missing' : 'undefined_object'
    return new ConnectorError(kind, `${action}: ${message}`, { retriable: false, cause: error })
  }
  if (code === OBJECT_IN_USE) {
    // Usually the previous walsender of this slot has not exited yet; it will.
    return new ConnectorError('slot_in_use', `${action}: ${message}`, { retriable: true, cause: error })
  }
  if (code === undefined || RETRIABLE_CLASSES.has(code.slice(0, 2))) {
    // No SQLSTATE means a socket-level failure (reset, EOF, timeout). Node's bare "write EPIPE" / "read ECONNRESET"
    // says little to someone reading the source's status, so it is named for what it is.
    const socket = (error as { code?: unknown }).code
    const text = typeof socket === 'string' && SOCKET_ERRORS.has(socket) ? `connection to the server lost (${message})` : message
    return new ConnectorError('connection', `${action}: ${text}`, { retriable: true, cause: error })
  }
  if (code.startsWith('28') || code === '42501') {
    return new ConnectorError('privilege', `${action}: ${message}`, { retriable: false, cause: error })
  }
  return new ConnectorError('replication', `${action}: ${message} (SQLSTATE ${code})`, {
    retriable: false,
    cause: error,
  })
}

function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  // Only server errors carry a severity; Node's socket errors also have a `code` (`EPIPE` looks like a SQLSTATE).
  const { code, severity } = error as { code?: unknown; severity?: unknown }
  if (typeof severity !== 'string') return undefined
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
}
