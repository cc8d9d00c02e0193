/**
 * pgoutput bytes → `PgOutputMessage`. Pure: no I/O, no state. The caller says whether the message sits inside a
 * streamed transaction (between Stream Start and Stream Stop), because protocol v2 then puts the xid in front of
 * the data messages and nothing in the bytes themselves says so.
 *
 * Wire layout: https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
 * Text values are decoded as UTF-8: the replication connection's client_encoding is UTF8.
 */
import type { PgOutputMessage, RelationColumn, ReplicaIdentity, TupleData, TupleValue } from './messages.js'
import { BufferReader, PgOutputFormatError } from './reader.js'

export { PgOutputFormatError } from './reader.js'

export interface DecodeOptions {
  protocolVersion: 1 | 2
  /** True between Stream Start and Stream Stop (protocol v2): data messages then carry their xid. */
  inStream?: boolean
}

const REPLICA_IDENTITIES: Record<string, ReplicaIdentity> = { d: 'default', n: 'nothing', f: 'full', i: 'index' }

export function decodePgOutput(data: Buffer, options: DecodeOptions): PgOutputMessage {
  const reader = new BufferReader(data)
  const tag = reader.uint8('message tag')
  const streamed = options.inStream === true && options.protocolVersion >= 2
  const message = decodeBody(reader, tag, streamed)
  if (reader.remaining !== 0) {
    throw new PgOutputFormatError(`pgoutput '${tagName(tag)}' message has ${reader.remaining} trailing byte(s)`)
  }
  return message
}

function decodeBody(r: BufferReader, tag: number, streamed: boolean): PgOutputMessage {
  switch (tag) {
    case 0x42: // B
      return { tag: 'begin', finalLsn: r.uint64('final LSN'), commitTime: r.int64('commit time'), xid: r.uint32('xid') }
    case 0x43: // C
      return {
        tag: 'commit',
        flags: r.uint8('flags'),
        commitLsn: r.uint64('commit LSN'),
        endLsn: r.uint64('end LSN'),
        commitTime: r.int64('commit time'),
      }
    case 0x4f: // O
      return { tag: 'origin', originLsn: r.uint64('origin LSN'), name: r.cstring('origin name') }
    case 0x52: // R
      return withXid(streamed ? r.uint32('xid') : undefined, decodeRelation(r))
    case 0x59: {
      // Y
      const xid = streamed ? r.uint32('xid') : undefined
      const typeOid = r.uint32('type OID')
      const schema = namespace(r.cstring('namespace'))
      return withXid(xid, { tag: 'type', typeOid, schema, name: r.cstring('type name') })
    }
    case 0x49: {
      // I
      const xid = streamed ? r.uint32('xid') : undefined
      const relationId = r.uint32('relation OID')
      expectByte(r, 0x4e, 'insert')
      return withXid(xid, { tag: 'insert', relationId, newTuple: decodeTuple(r) })
    }
    case 0x55:
      return decodeUpdate(r, streamed ? r.uint32('xid') : undefined)
    case 0x44:
      return decodeDelete(r, streamed ? r.uint32('xid') : undefined)
    case 0x54:
      return decodeTruncate(r, streamed ? r.uint32('xid') : undefined)
    case 0x4d: {
      // M
      const xid = streamed ? r.uint32('xid') : undefined
      const transactional = (r.uint8('flags') & 1) === 1
      const lsn = r.uint64('message LSN')
      const prefix = r.cstring('message prefix')
      const length = r.int32('content length')
      // Copy: the replication stream may reuse its buffer once we return.
      const content = Buffer.from(r.bytes(length, 'message content'))
      return withXid(xid, { tag: 'message', transactional, lsn, prefix, content })
    }
    case 0x53: // S
      return { tag: 'stream-start', xid: r.uint32('xid'), firstSegment: r.uint8('first segment') === 1 }
    case 0x45: // E
      return { tag: 'stream-stop' }
    case 0x63: // c
      return {
        tag: 'stream-commit',
        xid: r.uint32('xid'),
        flags: r.uint8('flags'),
        commitLsn: r.uint64('commit LSN'),
        endLsn: r.uint64('end LSN'),
        commitTime: r.int64('commit time'),
      }
    case 0x41: // A
      return { tag: 'stream-abort', xid: r.uint32('xid'), subXid: r.uint32('subtransaction xid') }
    default:
      throw new PgOutputFormatError(`unknown pgoutput message tag ${tagName(tag)}`)
  }
}

function decodeRelation(r: BufferReader): PgOutputMessage & { tag: 'relation' } {
  const relationId = r.uint32('relation OID')
  const schema = namespace(r.cstring('namespace'))
  const name = r.cstring('relation name')
  const identityByte = String.fromCharCode(r.uint8('replica identity'))
  const replicaIdentity = REPLICA_IDENTITIES[identityByte]
  if (!replicaIdentity) throw new PgOutputFormatError(`unknown replica identity setting '${identityByte}'`)
  const count = r.int16('column count')
  const columns: RelationColumn[] = new Array(count)
  for (let i = 0; i < count; i++) {
    const isKey = (r.uint8('column flags') & 1) === 1
    const columnName = r.cstring('column name')
    columns[i] = { isKey, name: columnName, typeOid: r.uint32('column type OID'), typeMod: r.int32('column typmod') }
  }
  return { tag: 'relation', relationId, schema, name, replicaIdentity, columns }
}

function decodeUpdate(r: BufferReader, xid: number | undefined): PgOutputMessage {
  const relationId = r.uint32('relation OID')
  let kind = r.uint8('tuple kind')
  let keyTuple: TupleData | undefined
  let oldTuple: TupleData | undefined
  if (kind === 0x4b) keyTuple = decodeTuple(r)
  else if (kind === 0x4f) oldTuple = decodeTuple(r)
  if (keyTuple || oldTuple) kind = r.uint8('tuple kind')
  if (kind !== 0x4e) throw new PgOutputFormatError(`update: expected 'N' tuple, got ${tagName(kind)}`)
  const message: PgOutputMessage = { tag: 'update', relationId, newTuple: decodeTuple(r) }
  if (keyTuple) message.keyTuple = keyTuple
  if (oldTuple) message.oldTuple = oldTuple
  return withXid(xid, message)
}

function decodeDelete(r: BufferReader, xid: number | undefined): PgOutputMessage {
  const relationId = r.uint32('relation OID')
  const kind = r.uint8('tuple kind')
  if (kind === 0x4b) return withXid(xid, { tag: 'delete', relationId, keyTuple: decodeTuple(r) })
  if (kind === 0x4f) return withXid(xid, { tag: 'delete', relationId, oldTuple: decodeTuple(r) })
  throw new PgOutputFormatError(`delete: expected 'K' or 'O' tuple, got ${tagName(kind)}`)
}

function decodeTruncate(r: BufferReader, xid: number | undefined): PgOutputMessage {
  const count = r.int32('relation count')
  const options = r.uint8('truncate options')
  const relationIds: number[] = new Array(count)
  for (let i = 0; i < count; i++) relationIds[i] = r.uint32('relation OID')
  const cascade = (options & 1) !== 0
  return withXid(xid, { tag: 'truncate', relationIds, cascade, restartIdentity: (options & 2) !== 0 })
}

function decodeTuple(r: BufferReader): TupleData {
  const count = r.int16('tuple column count')
  const values: TupleValue[] = new Array(count)
  for (let i = 0; i < count; i++) {
    const kind = r.uint8('tuple value kind')
    switch (kind) {
      case 0x6e: // n
        values[i] = NULL_VALUE
        break
      case 0x75: // u
        values[i] = UNCHANGED_TOAST
        break
      case 0x74: // t
        values[i] = { kind: 'text', value: r.utf8(r.int32('value length'), 'text value') }
        break
      case 0x62: // b
        values[i] = { kind: 'binary', value: Buffer.from(r.bytes(r.int32('value length'), 'binary value')) }
        break
      default:
        throw new PgOutputFormatError(`unknown tuple value kind ${tagName(kind)}`)
    }
  }
  return values
}

// Shared frozen singletons: the two valueless kinds are the common case for wide rows with TOAST columns.
const NULL_VALUE: TupleValue = Object.freeze({ kind: 'null' })
const UNCHANGED_TOAST: TupleValue = Object.freeze({ kind: 'unchanged-toast' })

function expectByte(r: BufferReader, expected: number, what: string): void {
  const got = r.uint8('tuple kind')
  if (got !== expected) {
    throw new PgOutputFormatError(`${what}: expected ${tagName(expected)} tuple, got ${tagName(got)}`)
  }
}

function withXid<M extends PgOutputMessage>(xid: number | undefined, message: M): M {
  if (xid !== undefined) (message as { xid?: number }).xid = xid
  return message
}

// pgoutput sends an empty namespace for pg_catalog.
function namespace(value: string): string {
  return value === '' ? 'pg_catalog' : value
}

function tagName(byte: number): string {
  const printable = byte >= 0x20 && byte < 0x7f ? `'${String.fromCharCode(byte)}' ` : ''
  return `${printable}(0x${byte.toString(16).padStart(2, '0')})`
}
