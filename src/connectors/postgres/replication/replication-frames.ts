/**
 * The CopyData payloads of streaming replication, parsed and encoded. Pure: bytes in, values out, no I/O.
 * Layouts: https://www.postgresql.org/docs/current/protocol-replication.html (XLogData 'w', Primary keepalive 'k',
 * Standby status update 'r'). All integers are big-endian Int64; times are microseconds since 2000-01-01 UTC, kept
 * as bigint so no microsecond is lost.
 */
import type { Lsn } from './lsn.js'

/** A chunk of decoded WAL: for pgoutput, exactly one logical replication message (first byte is its tag). */
export interface XLogData {
  kind: 'xlogdata'
  /** The LSN the message was decoded at (the commit's end LSN for a pgoutput Commit). */
  walStart: Lsn
  /** The server's current end of WAL as the sender saw it. */
  walEnd: Lsn
  /** Server clock when the frame was sent, µs since 2000-01-01. */
  serverTime: bigint
  data: Buffer
}

/** The server's heartbeat; `walEnd` is how far it has decoded (its `sentPtr`). */
export interface PrimaryKeepalive {
  kind: 'keepalive'
  walEnd: Lsn
  serverTime: bigint
  /** The server wants a standby status update now, or it will eventually drop us (`wal_sender_timeout`). */
  replyRequested: boolean
}

export type ReplicationFrame = XLogData | PrimaryKeepalive

export interface StandbyStatus {
  written: Lsn
  flushed: Lsn
  applied: Lsn
  /** µs since 2000-01-01; see `pgEpochMicros`. */
  clientTime: bigint
  replyRequested: boolean
}

const XLOG_DATA_HEADER_BYTES = 25
const KEEPALIVE_BYTES = 18
const STANDBY_STATUS_BYTES = 34
/** 2000-01-01T00:00:00Z in Unix milliseconds. */
const PG_EPOCH_UNIX_MS = 946_684_800_000n

export function parseFrame(frame: Buffer): ReplicationFrame {
  const tag = frame.length > 0 ? String.fromCharCode(frame[0]) : ''
  if (tag === 'w') {
    if (frame.length < XLOG_DATA_HEADER_BYTES) throw new Error(`XLogData frame too short: ${frame.length} bytes`)
    return {
      kind: 'xlogdata',
      walStart: frame.readBigUInt64BE(1),
      walEnd: frame.readBigUInt64BE(9),
      serverTime: frame.readBigInt64BE(17),
      data: frame.subarray(XLOG_DATA_HEADER_BYTES),
    }
  }
  if (tag === 'k') {
    if (frame.length < KEEPALIVE_BYTES) throw new Error(`keepalive frame too short: ${frame.length} bytes`)
    return {
      kind: 'keepalive',
      walEnd: frame.readBigUInt64BE(1),
      serverTime: frame.readBigInt64BE(9),
      replyRequested: frame[17] !== 0,
    }
  }
  throw new Error(`unknown replication frame ${JSON.stringify(tag)} (${frame.length} bytes)`)
}

export function encodeStandbyStatus(status: StandbyStatus): Buffer {
  const out = Buffer.alloc(STANDBY_STATUS_BYTES)
  out.write('r', 0, 'latin1')
  out.writeBigUInt64BE(status.written, 1)
  out.writeBigUInt64BE(status.flushed, 9)
  out.writeBigUInt64BE(status.applied, 17)
  out.writeBigInt64BE(status.clientTime, 25)
  out[33] = status.replyRequested ? 1 : 0
  return out
}

/** Converts Unix milliseconds (default: now) to PostgreSQL's µs-since-2000 clock. */
export function pgEpochMicros(unixMs: number = Date.now()): bigint {
  return (BigInt(Math.trunc(unixMs)) - PG_EPOCH_UNIX_MS) * 1000n
}
