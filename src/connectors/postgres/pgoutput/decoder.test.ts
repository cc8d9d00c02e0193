import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseLsn } from '../replication/lsn.js'
import { decodePgOutput, PgOutputFormatError } from './decoder.js'
import type { PgOutputMessage } from './messages.js'

interface Fixture {
  protocolVersion: 1
  messages: Array<{ lsn: string; hex: string }>
}

const FIXTURES = new URL('../../../../test/fixtures/pgoutput/', import.meta.url)

function load(name: string): PgOutputMessage[] {
  const fixture = JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8')) as Fixture
  return fixture.messages.map((m) => decodePgOutput(Buffer.from(m.hex, 'hex'), { protocolVersion: 1 }))
}

function fixtureLsns(name: string): bigint[] {
  const fixture = JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8')) as Fixture
  return fixture.messages.map((m) => parseLsn(m.lsn))
}

const text = (value: string) => ({ kind: 'text', value })
const NULL = { kind: 'null' }

// 2026-01-01 and 2100-01-01 in microseconds since 2000-01-01: captured commit times fall in between.
const PG_EPOCH_2026 = 820454400_000000n
const PG_EPOCH_2100 = 3155760000_000000n

describe('decodePgOutput on captured bytes', () => {
  it('decodes inserts, updates and deletes under REPLICA IDENTITY DEFAULT', () => {
    const messages = load('identity-default')
    expect(messages.map((m) => m.tag)).toEqual([
      'begin', 'relation', 'insert', 'insert', 'commit',
      'begin', 'update', 'commit',
      'begin', 'update', 'commit',
      'begin', 'delete', 'commit',
    ])
    const [begin, relation, insert1, insert2, commit] = messages
    expect(relation).toEqual({
      tag: 'relation', relationId: expect.any(Number), schema: 'public', name: 'items', replicaIdentity: 'default',
      columns: [
        { isKey: true, name: 'id', typeOid: 23, typeMod: -1 },
        { isKey: false, name: 'name', typeOid: 25, typeMod: -1 },
        // numeric(10,2): ((10 << 16) | 2) + 4
        { isKey: false, name: 'price', typeOid: 1700, typeMod: ((10 << 16) | 2) + 4 },
      ],
    })
    const relationId = (relation as { relationId: number }).relationId
    expect(insert1).toEqual({ tag: 'insert', relationId, newTuple: [text('1'), text('apple'), text('1.25')] })
    expect(insert2).toEqual({ tag: 'insert', relationId, newTuple: [text('2'), NULL, text('-3.50')] })
    if (begin.tag !== 'begin' || commit.tag !== 'commit') throw new Error('unexpected shape')
    expect(begin.xid).toBeGreaterThan(0)
    expect(begin.finalLsn).toBe(commit.commitLsn)
    expect(commit.endLsn).toBeGreaterThan(commit.commitLsn)
    expect(commit.commitTime).toBe(begin.commitTime)
    expect(begin.commitTime > PG_EPOCH_2026 && begin.commitTime < PG_EPOCH_2100).toBe(true)
    // The slot reports each message at the LSN where its transaction starts being decoded.
    expect(fixtureLsns('identity-default')[0]).toBeLessThanOrEqual(begin.finalLsn)

    // Non-key update: no old tuple at all.
    expect(messages[6]).toEqual({ tag: 'update', relationId, newTuple: [text('1'), text('pear'), text('1.25')] })
    // Key change: the old key is sent as a K tuple with only the key columns filled in.
    expect(messages[9]).toEqual({
      tag: 'update', relationId, keyTuple: [text('2'), NULL, NULL], newTuple: [text('10'), NULL, text('-3.50')],
    })
    expect(messages[12]).toEqual({ tag: 'delete', relationId, keyTuple: [text('10'), NULL, NULL] })
    const xids = messages.filter((m) => m.tag === 'begin').map((m) => (m as { xid: number }).xid)
    expect(new Set(xids).size).toBe(4)
  })

  it('decodes the whole old row under REPLICA IDENTITY FULL', () => {
    const messages = load('identity-full')
    const relation = messages[1]
    expect(relation).toMatchObject({ tag: 'relation', name: 'people', replicaIdentity: 'full' })
    // With FULL every column is flagged as part of the identity.
    expect((relation as { columns: Array<{ isKey: boolean }> }).columns.map((c) => c.isKey)).toEqual([true, true, true])
    expect(messages[5]).toMatchObject({
      tag: 'update', oldTuple: [text('1'), text('ann'), text('30')], newTuple: [text('1'), text('ann'), text('31')],
    })
    expect(messages[5]).not.toHaveProperty('keyTuple')
    expect(messages[8]).toMatchObject({ tag: 'delete', oldTuple: [text('1'), text('ann'), text('31')] })
  })

  it('marks an unchanged TOASTed column as unchanged-toast', () => {
    const messages = load('unchanged-toast')
    expect(messages.map((m) => m.tag)).toEqual(['begin', 'relation', 'update', 'commit'])
    expect(messages[2]).toMatchObject({ tag: 'update', newTuple: [text('1'), { kind: 'unchanged-toast' }, text('2')] })
  })

  it('decodes a truncate of two relations with its options', () => {
    const messages = load('truncate')
    const [, parent, child, truncate] = messages
    expect(parent).toMatchObject({ tag: 'relation', name: 'parent' })
    expect(child).toMatchObject({ tag: 'relation', name: 'child' })
    expect(truncate).toEqual({
      tag: 'truncate',
      relationIds: [(parent as { relationId: number }).relationId, (child as { relationId: number }).relationId],
      cascade: true,
      restartIdentity: true,
    })
  })

  it('decodes transactional and non-transactional logical messages', () => {
    const messages = load('logical-message')
    expect(messages.map((m) => m.tag)).toEqual(['begin', 'message', 'commit', 'message', 'begin', 'message', 'commit'])
    const tx = messages[1]
    const nonTx = messages[3]
    if (tx.tag !== 'message' || nonTx.tag !== 'message') throw new Error('unexpected shape')
    expect(tx).toMatchObject({ transactional: true, prefix: 'sluice-tx' })
    expect(tx.content.toString('utf8')).toBe('hello')
    expect(tx.lsn).toBeGreaterThan(0n)
    expect(nonTx).toMatchObject({ transactional: false, prefix: 'sluice-nontx' })
    expect([...nonTx.content]).toEqual([0x00, 0xff])
    expect(nonTx.lsn).toBeGreaterThan(tx.lsn)
  })

  it('decodes a multi-statement transaction with a Type message for a custom enum', () => {
    const messages = load('multi-statement')
    expect(messages.map((m) => m.tag)).toEqual(['begin', 'type', 'relation', 'insert', 'insert', 'update', 'delete', 'commit'])
    const type = messages[1]
    const relation = messages[2]
    if (type.tag !== 'type' || relation.tag !== 'relation') throw new Error('unexpected shape')
    expect(type).toMatchObject({ schema: 'public', name: 'mood' })
    expect(relation.columns[1]).toEqual({ isKey: false, name: 'm', typeOid: type.typeOid, typeMod: -1 })
    expect(messages[3]).toMatchObject({ newTuple: [text('1'), text('ok')] })
    expect(messages[4]).toMatchObject({ newTuple: [text('2'), text('happy')] })
    expect(messages[5]).toMatchObject({ tag: 'update', newTuple: [text('1'), text('sad')] })
    expect(messages[6]).toMatchObject({ tag: 'delete', keyTuple: [text('2'), NULL] })
    // All data messages of one transaction share its begin/commit.
    const begin = messages[0]
    const commit = messages[7]
    if (begin.tag !== 'begin' || commit.tag !== 'commit') throw new Error('unexpected shape')
    expect(begin.finalLsn).toBe(commit.commitLsn)
  })
})

/** Builds wire messages by hand for cases that are awkward to capture. */
class Writer {
  private parts: Buffer[] = []
  byte(value: number | string): this {
    this.parts.push(Buffer.from([typeof value === 'string' ? value.charCodeAt(0) : value]))
    return this
  }
  int16(value: number): this {
    const b = Buffer.alloc(2)
    b.writeInt16BE(value)
    this.parts.push(b)
    return this
  }
  int32(value: number): this {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(value >>> 0)
    this.parts.push(b)
    return this
  }
  int64(value: bigint): this {
    const b = Buffer.alloc(8)
    b.writeBigInt64BE(value)
    this.parts.push(b)
    return this
  }
  cstring(value: string): this {
    this.parts.push(Buffer.from(`${value}\0`, 'utf8'))
    return this
  }
  text(value: string): this {
    const body = Buffer.from(value, 'utf8')
    return this.byte('t').int32(body.length).raw(body)
  }
  raw(value: Buffer): this {
    this.parts.push(value)
    return this
  }
  build(): Buffer {
    return Buffer.concat(this.parts)
  }
}

const V2_STREAM = { protocolVersion: 2, inStream: true } as const

describe('decodePgOutput on hand-built protocol v2 stream messages', () => {
  it('decodes Stream Start, Stop, Commit and Abort', () => {
    expect(decodePgOutput(new Writer().byte('S').int32(4000000000).byte(1).build(), V2_STREAM)).toEqual({
      tag: 'stream-start', xid: 4000000000, firstSegment: true,
    })
    expect(decodePgOutput(new Writer().byte('S').int32(7).byte(0).build(), V2_STREAM)).toMatchObject({ firstSegment: false })
    expect(decodePgOutput(new Writer().byte('E').build(), V2_STREAM)).toEqual({ tag: 'stream-stop' })
    const commit = new Writer().byte('c').int32(7).byte(0).int64(0x16b374d848n).int64(0x16b374d878n).int64(-5n).build()
    expect(decodePgOutput(commit, { protocolVersion: 2 })).toEqual({
      tag: 'stream-commit', xid: 7, flags: 0, commitLsn: 0x16b374d848n, endLsn: 0x16b374d878n, commitTime: -5n,
    })
    expect(decodePgOutput(new Writer().byte('A').int32(7).int32(9).build(), { protocolVersion: 2 })).toEqual({
      tag: 'stream-abort', xid: 7, subXid: 9,
    })
  })

  it('reads the xid prefix of data messages only inside a stream', () => {
    const relation = new Writer().byte('R').int32(42).int32(16385).cstring('').cstring('t').byte('i').int16(1)
      .byte(1).cstring('id').int32(20).int32(-1).build()
    expect(decodePgOutput(relation, V2_STREAM)).toEqual({
      tag: 'relation', xid: 42, relationId: 16385, schema: 'pg_catalog', name: 't', replicaIdentity: 'index',
      columns: [{ isKey: true, name: 'id', typeOid: 20, typeMod: -1 }],
    })
    const insert = new Writer().byte('I').int32(42).int32(16385).byte('N').int16(2).text('1').byte('b').int32(2)
      .raw(Buffer.from([1, 2])).build()
    expect(decodePgOutput(insert, V2_STREAM)).toEqual({
      tag: 'insert', xid: 42, relationId: 16385, newTuple: [text('1'), { kind: 'binary', value: Buffer.from([1, 2]) }],
    })
    // The same bytes outside a stream are misread as relation 42 followed by garbage, and must not pass silently.
    expect(() => decodePgOutput(insert, { protocolVersion: 2 })).toThrow(PgOutputFormatError)
    const update = new Writer().byte('U').int32(43).int32(5).byte('O').int16(1).text('a').byte('N').int16(1).text('b').build()
    expect(decodePgOutput(update, V2_STREAM)).toEqual({
      tag: 'update', xid: 43, relationId: 5, oldTuple: [text('a')], newTuple: [text('b')],
    })
    const del = new Writer().byte('D').int32(43).int32(5).byte('K').int16(1).text('a').build()
    expect(decodePgOutput(del, V2_STREAM)).toEqual({ tag: 'delete', xid: 43, relationId: 5, keyTuple: [text('a')] })
    const truncate = new Writer().byte('T').int32(43).int32(2).byte(0).int32(5).int32(6).build()
    expect(decodePgOutput(truncate, V2_STREAM)).toEqual({
      tag: 'truncate', xid: 43, relationIds: [5, 6], cascade: false, restartIdentity: false,
    })
    const type = new Writer().byte('Y').int32(43).int32(16443).cstring('public').cstring('mood').build()
    expect(decodePgOutput(type, V2_STREAM)).toEqual({ tag: 'type', xid: 43, typeOid: 16443, schema: 'public', name: 'mood' })
    const message = new Writer().byte('M').int32(43).byte(1).int64(99n).cstring('p').int32(3).raw(Buffer.from('abc')).build()
    expect(decodePgOutput(message, V2_STREAM)).toEqual({
      tag: 'message', xid: 43, transactional: true, lsn: 99n, prefix: 'p', content: Buffer.from('abc'),
    })
    // Protocol v1 never has the prefix, even if the caller thinks it is in a stream.
    const v1Insert = new Writer().byte('I').int32(5).byte('N').int16(1).text('x').build()
    expect(decodePgOutput(v1Insert, { protocolVersion: 1, inStream: true })).toEqual({
      tag: 'insert', relationId: 5, newTuple: [text('x')],
    })
  })

  it('decodes Origin and multi-byte UTF-8 text', () => {
    expect(decodePgOutput(new Writer().byte('O').int64(123n).cstring('node_a').build(), { protocolVersion: 1 })).toEqual({
      tag: 'origin', originLsn: 123n, name: 'node_a',
    })
    const insert = new Writer().byte('I').int32(5).byte('N').int16(1).text('Zoë – 東京').build()
    expect(decodePgOutput(insert, { protocolVersion: 1 })).toMatchObject({ newTuple: [text('Zoë – 東京')] })
  })
})

describe('decodePgOutput errors', () => {
  const insert = new Writer().byte('I').int32(5).byte('N').int16(2).text('hello').text('world').build()

  it('rejects every truncation of a valid message', () => {
    for (let length = 0; length < insert.length; length++) {
      expect(() => decodePgOutput(insert.subarray(0, length), { protocolVersion: 1 })).toThrow(PgOutputFormatError)
    }
    expect(() => decodePgOutput(insert.subarray(0, 8), { protocolVersion: 1 })).toThrow(/truncated/)
  })

  it('rejects trailing bytes', () => {
    expect(() => decodePgOutput(Buffer.concat([insert, Buffer.from([0])]), { protocolVersion: 1 })).toThrow(/trailing/)
  })

  it('names an unknown tag byte', () => {
    expect(() => decodePgOutput(Buffer.from('Zabc'), { protocolVersion: 1 })).toThrow(/unknown pgoutput message tag 'Z' \(0x5a\)/)
    expect(() => decodePgOutput(Buffer.from([0x01]), { protocolVersion: 1 })).toThrow(/\(0x01\)/)
  })

  it('rejects unknown tuple kinds and replica identities', () => {
    const badKind = new Writer().byte('I').int32(5).byte('N').int16(1).byte('x').build()
    expect(() => decodePgOutput(badKind, { protocolVersion: 1 })).toThrow(/tuple value kind 'x'/)
    const badIdentity = new Writer().byte('R').int32(1).cstring('s').cstring('t').byte('q').int16(0).build()
    expect(() => decodePgOutput(badIdentity, { protocolVersion: 1 })).toThrow(/replica identity/)
    const badInsert = new Writer().byte('I').int32(5).byte('K').int16(0).build()
    expect(() => decodePgOutput(badInsert, { protocolVersion: 1 })).toThrow(/expected 'N'/)
  })
})
