import { describe, expect, it } from 'vitest'
import { ConnectorError } from '../../connector-error.js'
import { toConnectorError } from './replication-errors.js'

function serverError(code: string, message = 'server said no') {
  return Object.assign(new Error(message), { code, severity: 'ERROR' })
}

describe('replication error classification', () => {
  it.each([
    [serverError('42704', 'replication slot "s" does not exist'), 'slot_missing', false],
    [serverError('42704', 'publication "p" does not exist'), 'undefined_object', false],
    [serverError('55006', 'replication slot "s" is active for PID 42'), 'slot_in_use', true],
    [serverError('57P01', 'terminating connection due to administrator command'), 'connection', true],
    [serverError('08006'), 'connection', true],
    [serverError('53300', 'too many connections'), 'connection', true],
    [serverError('28P01', 'password authentication failed'), 'privilege', false],
    [serverError('42501', 'permission denied'), 'privilege', false],
    [serverError('XX000', 'internal error'), 'replication', false],
    [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'connection', true],
    [new Error('Connection terminated unexpectedly'), 'connection', true],
  ])('%s → %s (retriable %s)', (error, kind, retriable) => {
    const classified = toConnectorError(error, 'replication')
    expect(classified).toBeInstanceOf(ConnectorError)
    expect(classified).toMatchObject({ kind, retriable })
    expect(classified.cause).toBe(error)
    expect(classified.message).toContain(error.message)
  })

  it('names a lost socket for what it is', () => {
    const classified = toConnectorError(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }), 'replication stream')
    expect(classified).toMatchObject({ kind: 'connection', retriable: true })
    expect(classified.message).toBe('replication stream: connection to the server lost (write EPIPE)')
  })

  it('passes a ConnectorError through unchanged', () => {
    const original = new ConnectorError('config', 'bad', { retriable: false })
    expect(toConnectorError(original, 'x')).toBe(original)
  })
})
