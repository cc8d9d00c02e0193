import { describe, expect, it } from 'vitest'
import { parseLsn } from './lsn.js'
import { encodeStandbyStatus, parseFrame, pgEpochMicros } from './replication-frames.js'

function xlogData(walStart: bigint, walEnd: bigint, time: bigint, data: string): Buffer {
  const head = Buffer.alloc(25)
  head.write('w', 0, 'latin1')
  head.writeBigUInt64BE(walStart, 1)
  head.writeBigUInt64BE(walEnd, 9)
  head.writeBigInt64BE(time, 17)
  return Buffer.concat([head, Buffer.from(data, 'latin1')])
}

describe('replication frames', () => {
  it('parses XLogData with exact 64-bit positions and microsecond time', () => {
    const start = parseLsn('16/B374D848')
    const end = parseLsn('FFFFFFFF/FFFFFFFF')
    const frame = parseFrame(xlogData(start, end, 817_488_000_123_456n, 'Cpayload'))
    expect(frame).toEqual({
      kind: 'xlogdata',
      walStart: start,
      walEnd: end,
      serverTime: 817_488_000_123_456n,
      data: Buffer.from('Cpayload', 'latin1'),
    })
  })

  it('parses a primary keepalive and its reply flag', () => {
    const buf = Buffer.alloc(18)
    buf.write('k', 0, 'latin1')
    buf.writeBigUInt64BE(0x1_0000_0002n, 1)
    buf.writeBigInt64BE(42n, 9)
    buf[17] = 1
    expect(parseFrame(buf)).toEqual({
      kind: 'keepalive',
      walEnd: 0x1_0000_0002n,
      serverTime: 42n,
      replyRequested: true,
    })
    buf[17] = 0
    expect(parseFrame(buf)).toMatchObject({ replyRequested: false })
  })

  it('rejects short and unknown frames', () => {
    expect(() => parseFrame(Buffer.from('w1234'))).toThrow(/too short/)
    expect(() => parseFrame(Buffer.from('k1'))).toThrow(/too short/)
    expect(() => parseFrame(Buffer.from('x'))).toThrow(/unknown/)
    expect(() => parseFrame(Buffer.alloc(0))).toThrow(/unknown/)
  })

  it('encodes a standby status update byte for byte', () => {
    const buf = encodeStandbyStatus({
      written: 0x0102030405060708n,
      flushed: 0x1112131415161718n,
      applied: 0x2122232425262728n,
      clientTime: 0x3132333435363738n,
      replyRequested: true,
    })
    expect(buf.toString('hex')).toBe(
      `72${'0102030405060708'}${'1112131415161718'}${'2122232425262728'}${'3132333435363738'}01`,
    )
    const zero = { written: 0n, flushed: 0n, applied: 0n, clientTime: 0n }
    const noReply = encodeStandbyStatus({ ...zero, replyRequested: false })
    expect(noReply[33]).toBe(0)
  })

  it('converts Unix milliseconds to microseconds since 2000-01-01', () => {
    expect(pgEpochMicros(Date.UTC(2000, 0, 1))).toBe(0n)
    expect(pgEpochMicros(Date.UTC(2000, 0, 1, 0, 0, 1, 500))).toBe(1_500_000n)
    expect(pgEpochMicros(Date.UTC(1999, 11, 31, 23, 59, 59))).toBe(-1_000_000n)
  })
})
