/**
 * numeric and money text → Debezium's decimal encodings. Kafka Connect's Decimal is the two's-complement,
 * big-endian, minimal-length unscaled value (Java's `BigInteger.toByteArray`), which the JSON converter writes
 * as base64.
 */

export interface ScaledDecimal {
  unscaled: bigint
  scale: number
}

const DECIMAL_RE = /^([+-]?)(\d*)(?:\.(\d*))?$/

/** Parses plain decimal text (`-12.340`) exactly. Returns null for NaN / Infinity / -Infinity. */
export function parseDecimal(text: string): ScaledDecimal | null {
  if (text === 'NaN' || text === 'Infinity' || text === '-Infinity') return null
  const m = DECIMAL_RE.exec(text)
  if (!m || (m[2] === '' && !m[3])) throw new Error(`cannot parse PostgreSQL numeric text ${JSON.stringify(text)}`)
  const fraction = m[3] ?? ''
  const digits = BigInt(`${m[2] || '0'}${fraction}`)
  return { unscaled: m[1] === '-' ? -digits : digits, scale: fraction.length }
}

/** Changes the scale without rounding (PostgreSQL already rounded to the column's scale). */
export function withScale(value: ScaledDecimal, scale: number): ScaledDecimal {
  if (scale === value.scale) return value
  if (scale > value.scale) return { unscaled: value.unscaled * 10n ** BigInt(scale - value.scale), scale }
  const factor = 10n ** BigInt(value.scale - scale)
  // Round half up, as BigDecimal.setScale(scale, HALF_UP) does for money.
  const quotient = value.unscaled / factor
  const remainder = value.unscaled % factor
  const twice = (remainder < 0n ? -remainder : remainder) * 2n
  const bump = twice >= factor ? (value.unscaled < 0n ? -1n : 1n) : 0n
  return { unscaled: quotient + bump, scale }
}

/** BigDecimal.stripTrailingZeros, then a negative scale back to 0 (Debezium's VariableScaleDecimal rule). */
export function stripTrailingZeros(value: ScaledDecimal): ScaledDecimal {
  let { unscaled, scale } = value
  if (unscaled === 0n) return { unscaled: 0n, scale: 0 }
  while (scale > 0 && unscaled % 10n === 0n) {
    unscaled /= 10n
    scale--
  }
  return { unscaled, scale }
}

/** Java's `BigInteger.toByteArray()` as base64. */
export function unscaledToBase64(unscaled: bigint): string {
  if (unscaled >= -SMALL_LIMIT && unscaled < SMALL_LIMIT) return smallToBase64(Number(unscaled))
  return twosComplementBytes(unscaled).toString('base64')
}

// Values of up to 6 bytes (|v| < 2^47, exact as doubles) are the common case for money and numeric(p, s) columns:
// encode them with number arithmetic into one scratch buffer instead of bigint shifts and a new Buffer each.
const SMALL_BYTES = 6
const SMALL_LIMIT = 1n << BigInt(SMALL_BYTES * 8 - 1)
/** SIGNED_LIMITS[n] = 2^(8n - 1): n bytes hold [-SIGNED_LIMITS[n], SIGNED_LIMITS[n]). */
const SIGNED_LIMITS = Array.from({ length: SMALL_BYTES + 1 }, (_, n) => 2 ** (8 * n - 1))
const scratch = Buffer.alloc(SMALL_BYTES)

/** `unscaledToBase64` of a value with |value| < 2^47, as a number. */
export function smallToBase64(value: number): string {
  return scratch.toString('base64', 0, smallTwosComplement(value, scratch))
}

/** Java's `BigInteger.toByteArray()` of |value| < 2^47 into `into` (6 bytes at least); returns its length. */
export function smallTwosComplement(value: number, into: Uint8Array): number {
  let length = 1
  while (value < -SIGNED_LIMITS[length] || value >= SIGNED_LIMITS[length]) length++
  let v = value < 0 ? 2 ** (8 * length) + value : value
  for (let i = length - 1; i >= 0; i--) {
    into[i] = v % 256
    v = Math.floor(v / 256)
  }
  return length
}

export function twosComplementBytes(value: bigint): Buffer {
  // Minimal length that still leaves room for the sign bit.
  let length = 1
  while (value < -(1n << BigInt(length * 8 - 1)) || value >= 1n << BigInt(length * 8 - 1)) length++
  const out = Buffer.alloc(length)
  let v = value < 0n ? (1n << BigInt(length * 8)) + value : value
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn)
    v >>= 8n
  }
  return out
}

/** The decimal's plain string (BigDecimal.toPlainString). */
export function toPlainString(value: ScaledDecimal): string {
  const negative = value.unscaled < 0n
  const digits = (negative ? -value.unscaled : value.unscaled).toString()
  if (value.scale === 0) return `${negative ? '-' : ''}${digits}`
  const padded = digits.padStart(value.scale + 1, '0')
  const point = padded.length - value.scale
  return `${negative ? '-' : ''}${padded.slice(0, point)}.${padded.slice(point)}`
}

/**
 * money text (`$1,234.56`, `-$1,234.56`, `($1.00)`, locale-dependent symbol) → decimal, the way Debezium's
 * PostgresMoney strips the currency symbol and grouping.
 */
export function parseMoney(text: string): ScaledDecimal {
  const negative = text.startsWith('-') || text.startsWith('(')
  const plain = text.replace(/[^0-9.]/g, '')
  const parsed = parseDecimal(`${negative ? '-' : ''}${plain}`)
  if (!parsed) throw new Error(`cannot parse PostgreSQL money text ${JSON.stringify(text)}`)
  return parsed
}
