/**
 * PostgreSQL log sequence numbers. An LSN is a 64-bit byte position in the WAL; we keep it as a bigint so that
 * arithmetic and comparisons are exact, and format it as PostgreSQL does (`16/B374D848`).
 */
export type Lsn = bigint

export const ZERO_LSN: Lsn = 0n

export function parseLsn(text: string): Lsn {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text)
  if (!match) throw new Error(`not an LSN: ${JSON.stringify(text)}`)
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`)
}

export function formatLsn(lsn: Lsn): string {
  const hi = lsn >> 32n
  const lo = lsn & 0xffffffffn
  return `${hi.toString(16).toUpperCase()}/${lo.toString(16).toUpperCase()}`
}

export function maxLsn(a: Lsn, b: Lsn): Lsn {
  return a > b ? a : b
}
