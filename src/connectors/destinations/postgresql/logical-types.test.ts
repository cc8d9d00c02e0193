import { describe, expect, it } from 'vitest'
import { ExactInteger } from '../destination.js'
import { type FieldSchema, nativeColumnType, valueConverter } from './logical-types.js'

const convert = (field: FieldSchema, value: unknown) => {
  const converter = valueConverter(field, nativeColumnType(field) as string)
  if (converter === null) throw new Error(`no converter for ${field.name}`)
  return converter(value)
}
const decimal = (scale: number): FieldSchema => ({ type: 'bytes', name: 'org.apache.kafka.connect.data.Decimal', parameters: { scale: String(scale) } })
/** Java's BigInteger.toByteArray of n, in base64 (what the source writes). */
const unscaled = (n: bigint) => {
  let hex = (n < 0n ? (1n << 64n) + n : n).toString(16)
  if (hex.length % 2) hex = `0${hex}`
  let bytes = Buffer.from(hex, 'hex')
  // Minimal two's complement: drop redundant sign bytes, keep one that carries the sign.
  while (bytes.length > 1 && ((bytes[0] === 0 && !(bytes[1] & 0x80)) || (bytes[0] === 0xff && bytes[1] & 0x80))) bytes = bytes.subarray(1)
  if (n >= 0n && bytes[0] & 0x80) bytes = Buffer.concat([Buffer.of(0), bytes])
  return bytes.toString('base64')
}

describe('Debezium logical types into native columns', () => {
  it('decodes Decimal and VariableScaleDecimal digits with their scale', () => {
    expect(convert(decimal(2), unscaled(12345n))).toBe('123.45')
    expect(convert(decimal(2), unscaled(-5n))).toBe('-0.05')
    expect(convert(decimal(0), unscaled(-128n))).toBe('-128')
    expect(convert(decimal(3), unscaled(0n))).toBe('0.000')
    expect(convert(decimal(2), unscaled(2n ** 70n))).toBe('11805916207174113034.24')
    expect(convert({ type: 'struct', name: 'io.debezium.data.VariableScaleDecimal' }, { scale: 9, value: unscaled(-1n) })).toBe('-0.000000001')
  })

  it('writes dates, times and timestamps as PostgreSQL reads them, BC and infinities included', () => {
    expect(convert({ type: 'int32', name: 'io.debezium.time.Date' }, 19782)).toBe('2024-02-29')
    expect(convert({ type: 'int32', name: 'io.debezium.time.Date' }, -1)).toBe('1969-12-31')
    expect(convert({ type: 'int64', name: 'io.debezium.time.MicroTimestamp' }, -1)).toBe('1969-12-31 23:59:59.999999')
    expect(convert({ type: 'int64', name: 'io.debezium.time.Timestamp' }, 86_400_123)).toBe('1970-01-02 00:00:00.123000')
    expect(convert({ type: 'int64', name: 'io.debezium.time.NanoTimestamp' }, new ExactInteger('1700000000123456789'))).toBe('2023-11-14 22:13:20.123456')
    expect(convert({ type: 'int64', name: 'io.debezium.time.MicroTimestamp' }, new ExactInteger('9223372036825200000'))).toBe('infinity')
    // Astronomical year -43 is 44 BC.
    expect(convert({ type: 'int64', name: 'io.debezium.time.MicroTimestamp' }, Date.UTC(-43, 2, 15, 12, 30, 0, 250) * 1000)).toBe('0044-03-15 12:30:00.250000 BC')
    expect(convert({ type: 'int64', name: 'io.debezium.time.MicroTime' }, 86_400_000_000)).toBe('24:00:00.000000')
    expect(convert({ type: 'int32', name: 'io.debezium.time.Time' }, 3_723_004)).toBe('01:02:03.004000')
    expect(convert({ type: 'int64', name: 'io.debezium.time.MicroDuration' }, -90_000_000_000)).toBe('-1 days -01:00:00.000000')
  })

  it('turns base64 bytes into bytea input, keeps nulls, and leaves columns of other types alone', () => {
    expect(convert({ type: 'bytes' }, Buffer.from([0, 255, 16]).toString('base64'))).toBe('\\x00ff10')
    expect(convert(decimal(2), null)).toBeNull()
    // A table made by an earlier Sluice kept Debezium's JSON form in text and bigint columns: values stay so.
    expect(valueConverter(decimal(2), 'text')).toBeNull()
    expect(valueConverter({ type: 'int64', name: 'io.debezium.time.MicroTimestamp' }, 'bigint')).toBeNull()
    // Already PostgreSQL's text: nothing to convert.
    expect(valueConverter({ type: 'string', name: 'io.debezium.time.ZonedTimestamp' }, 'timestamp with time zone')).toBeNull()
  })
})
