/**
 * Debezium's logical types (Connect schema names) as native PostgreSQL columns, when events carry their schema
 * (`value.converter.schemas.enable: true`), as Debezium's JDBC sink writes them: a new column gets the native type (a
 * Decimal a numeric, a MicroTimestamp a timestamp, bytes a bytea…), and a value bound for a column of that type is
 * turned from its JSON form (base64 unscaled digits, epoch days or microseconds) into the text PostgreSQL reads for
 * it. A column of another type (a table created by an earlier Sluice, or by hand) gets the value as it is. Without a
 * schema the JSON says too little (epoch micros or millis? base64 of what scale?), so values stay as they are.
 */
// The source's `infinity` sentinels (PgJDBC's, as Debezium writes them) come from the source's own converters.
import {
  DATE_NEGATIVE_INFINITY_DAYS,
  DATE_POSITIVE_INFINITY_DAYS,
  NEGATIVE_INFINITY_MICROS,
  POSITIVE_INFINITY_MICROS,
  civilFromDays,
} from '../../postgres/types/temporal.js'
import { ExactInteger } from '../destination.js'

export interface FieldSchema {
  field?: string
  type?: string
  name?: string
  parameters?: Record<string, string>
  fields?: FieldSchema[]
}

/** Logical type → the column type a new column gets (as the catalog names it, see `columnTypeName`). */
const NATIVE_TYPES: Record<string, string> = {
  'org.apache.kafka.connect.data.Decimal': 'numeric',
  'io.debezium.data.VariableScaleDecimal': 'numeric',
  'io.debezium.time.Date': 'date',
  'org.apache.kafka.connect.data.Date': 'date',
  'io.debezium.time.Time': 'time without time zone',
  'io.debezium.time.MicroTime': 'time without time zone',
  'io.debezium.time.NanoTime': 'time without time zone',
  'org.apache.kafka.connect.data.Time': 'time without time zone',
  'io.debezium.time.Timestamp': 'timestamp without time zone',
  'io.debezium.time.MicroTimestamp': 'timestamp without time zone',
  'io.debezium.time.NanoTimestamp': 'timestamp without time zone',
  'org.apache.kafka.connect.data.Timestamp': 'timestamp without time zone',
  'io.debezium.time.ZonedTimestamp': 'timestamp with time zone',
  'io.debezium.time.ZonedTime': 'time with time zone',
  'io.debezium.time.MicroDuration': 'interval',
  'io.debezium.time.Interval': 'interval',
  'io.debezium.data.Uuid': 'uuid',
  'io.debezium.data.Json': 'jsonb',
}

/** The native column type of a field, when it has one. */
export function nativeColumnType(field: FieldSchema): string | undefined {
  if (field.name !== undefined) return NATIVE_TYPES[field.name]
  return field.type === 'bytes' ? 'bytea' : undefined
}

type Converter = (value: unknown) => unknown

/** Nanoseconds per unit of the epoch (timestamps) or day (times) counts, by type name. */
const TIMESTAMP_NANOS: Record<string, bigint> = {
  'io.debezium.time.Timestamp': 1_000_000n,
  'org.apache.kafka.connect.data.Timestamp': 1_000_000n,
  'io.debezium.time.MicroTimestamp': 1000n,
  'io.debezium.time.NanoTimestamp': 1n,
}
const TIME_NANOS: Record<string, bigint> = {
  'io.debezium.time.Time': 1_000_000n,
  'org.apache.kafka.connect.data.Time': 1_000_000n,
  'io.debezium.time.MicroTime': 1000n,
  'io.debezium.time.NanoTime': 1n,
}

/**
 * How a field's values are written into a column of catalog type `columnType`; null when they go as they are (the
 * column is not the field's native type, or the JSON form is already what PostgreSQL reads).
 */
export function valueConverter(field: FieldSchema, columnType: string): Converter | null {
  if (nativeColumnType(field) !== columnType) return null
  const name = field.name
  if (name === undefined) return ifPresent(bytesText)
  if (name === 'org.apache.kafka.connect.data.Decimal') {
    const scale = Number(field.parameters?.scale ?? 0)
    return ifPresent((value) => decimalText(unscaledOf(String(value)), scale))
  }
  if (name === 'io.debezium.data.VariableScaleDecimal') {
    return ifPresent((value) => {
      const { scale, value: digits } = value as { scale: number; value: string }
      return decimalText(unscaledOf(digits), scale)
    })
  }
  if (name === 'io.debezium.time.Date' || name === 'org.apache.kafka.connect.data.Date') return ifPresent((value) => dateText(Number(value)))
  if (name in TIMESTAMP_NANOS) return ifPresent((value) => timestampText(micros(value, TIMESTAMP_NANOS[name])))
  if (name in TIME_NANOS) return ifPresent((value) => timeText(micros(value, TIME_NANOS[name])))
  if (name === 'io.debezium.time.MicroDuration') return ifPresent((value) => durationText(micros(value, 1000n)))
  return null
}

function ifPresent(convert: Converter): Converter {
  return (value) => (value === null || value === undefined ? value : convert(value))
}

/** Microseconds of a count of units of `nanosPerUnit` ns (nanoseconds are floored: PostgreSQL keeps micros). */
function micros(value: unknown, nanosPerUnit: bigint): bigint {
  const nanos = (value instanceof ExactInteger ? BigInt(value.text) : BigInt(value as number)) * nanosPerUnit
  const quotient = nanos / 1000n
  return nanos % 1000n !== 0n && nanos < 0n ? quotient - 1n : quotient
}

/** Java's BigInteger.toByteArray (two's complement, big-endian) in base64 → the integer. */
function unscaledOf(base64: string): bigint {
  const bytes = Buffer.from(base64, 'base64')
  let n = 0n
  for (const b of bytes) n = (n << 8n) | BigInt(b)
  if (bytes.length > 0 && bytes[0] & 0x80) n -= 1n << BigInt(bytes.length * 8)
  return n
}

function decimalText(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n
  let digits = (negative ? -unscaled : unscaled).toString()
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0')
    digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`
  } else if (scale < 0) {
    digits += '0'.repeat(-scale)
  }
  return negative ? `-${digits}` : digits
}

function bytesText(value: unknown): string {
  return `\\x${Buffer.from(String(value), 'base64').toString('hex')}`
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0')

/** A proleptic Gregorian date as PostgreSQL reads it: years before 1 as `… BC` (year 0 is 1 BC). */
function civilText(days: number): string {
  const { year, month, day } = civilFromDays(days)
  return year > 0 ? `${pad(year, 4)}-${pad(month)}-${pad(day)}` : `${pad(1 - year, 4)}-${pad(month)}-${pad(day)} BC`
}

function dateText(days: number): string {
  if (days === DATE_POSITIVE_INFINITY_DAYS) return 'infinity'
  if (days === DATE_NEGATIVE_INFINITY_DAYS) return '-infinity'
  return civilText(days)
}

const MICROS_PER_DAY = 86_400_000_000n

function timeText(micros: bigint): string {
  const us = Number(micros) // within a day
  const seconds = Math.floor(us / 1_000_000)
  return `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}.${pad(us % 1_000_000, 6)}`
}

/**
 * An interval of Debezium's MicroDuration (months were counted as 30 days, so they come back as days): whole days,
 * then the time, as PostgreSQL prints a day-time interval.
 */
function durationText(micros: bigint): string {
  const sign = micros < 0n ? '-' : ''
  const magnitude = micros < 0n ? -micros : micros
  const days = magnitude / MICROS_PER_DAY
  return `${sign}${days} days ${sign}${timeText(magnitude % MICROS_PER_DAY)}`
}

function timestampText(micros: bigint): string {
  if (micros === POSITIVE_INFINITY_MICROS) return 'infinity'
  if (micros === NEGATIVE_INFINITY_MICROS) return '-infinity'
  let days = micros / MICROS_PER_DAY
  let rest = micros % MICROS_PER_DAY
  if (rest < 0n) {
    days -= 1n
    rest += MICROS_PER_DAY
  }
  const date = civilText(Number(days))
  const time = timeText(rest)
  // The era goes last in PostgreSQL's input: `0044-03-15 12:00:00 BC`.
  return date.endsWith(' BC') ? `${date.slice(0, -3)} ${time} BC` : `${date} ${time}`
}
