/**
 * Text → Debezium value converters for PostgreSQL's built-in types, one per (type, typmod, options). Each returns
 * the Connect schema Debezium's PostgreSQL connector declares and a function from PostgreSQL's text output (as sent
 * by pgoutput and by `COPY … TO STDOUT`) to the value Debezium's JSON converter writes.
 * Reference: Debezium's PostgresValueConverter / JdbcValueConverters (behaviour re-derived, not copied).
 */
import type { ConnectSchema, EventValue } from '../../../events/change-event.js'
import { jsonString } from '../../../events/json.js'
import { type ByteJsonWriter, decimalJson, floatJson, timestamptzJson } from './byte-json.js'
import { bitsToBytes, encodeBinary, parseBytea, type BinaryHandlingMode } from './binary.js'
import { parseDecimal, parseMoney, stripTrailingZeros, toPlainString, unscaledToBase64, withScale } from './numeric.js'
import * as oid from './pg-oids.js'
import {
  formatTimestamptz,
  formatTimetz,
  parseDate,
  parseIntervalMicros,
  parseTimeMicros,
  parseTimestampMicros,
} from './temporal.js'

export interface ValueConverterOptions {
  decimalHandlingMode: 'precise' | 'double' | 'string'
  binaryHandlingMode: BinaryHandlingMode
  /** `adaptive` (Debezium's default), `adaptive_time_microseconds`, or `connect` (Kafka Connect's own types). */
  timePrecisionMode: 'adaptive' | 'adaptive_time_microseconds' | 'connect'
}

export const DEFAULT_VALUE_CONVERTER_OPTIONS: ValueConverterOptions = Object.freeze({
  decimalHandlingMode: 'precise',
  binaryHandlingMode: 'bytes',
  timePrecisionMode: 'adaptive',
})

export type ValueConverter = (text: string) => EventValue

/** A column's schema (without `optional`, which the caller knows) and its converter. */
export interface TypeMapping {
  schema: Omit<ConnectSchema, 'optional'>
  convert: ValueConverter
  /**
   * How the value's JSON in an event follows from its text, for types where it does without converting: `same` (the
   * text is the JSON, as for integers), `quoted` (the text as a JSON string) or `boolean` (`t`/`f`). A snapshot
   * reader writes such values straight from COPY's bytes. Must agree with `jsonWriter(schema)(convert(text))`.
   */
  textJson?: TextJson
  /** A faster byte-level path to the same JSON for the common form of the text (see byte-json.ts). */
  byteJson?: ByteJsonWriter
}

export type TextJson = 'same' | 'quoted' | 'boolean'

/** The JSON of a value from its text, for a mapping with `textJson`. */
export function textJsonWriter(kind: TextJson): (text: string) => string {
  switch (kind) {
    case 'same':
      return integerText
    case 'quoted':
      return jsonString
    case 'boolean':
      return booleanJson
  }
}

/** Money's scale: Debezium's `money.fraction.digits` default. */
const MONEY_FRACTION_DIGITS = 2
const VARBIT_UNLIMITED = 2147483647

const identity: ValueConverter = (text) => text
const logical = (type: ConnectSchema['type'], name: string, parameters?: Record<string, string>) =>
  parameters ? { type, name, version: 1, parameters } : { type, name, version: 1 }

/** int64 values as numbers while exact, bigint beyond 2^53. */
export function int64Value(value: bigint): number | bigint {
  return value >= -9007199254740991n && value <= 9007199254740991n ? Number(value) : value
}

const toInt64: ValueConverter = (text) => int64Value(BigInt(text))
const toNumber: ValueConverter = (text) => Number(text)
const toBoolean: ValueConverter = (text) => text === 't' || text === 'true'
/** PostgreSQL's integer output is already a canonical JSON number (bigint-sized included). */
const integerText = (text: string) => text
const booleanJson = (text: string) => (toBoolean(text) ? 'true' : 'false')

/** Returns the mapping of a built-in type, or undefined when the OID is not one we know. */
export function builtinMapping(
  typeOid: number,
  typeMod: number,
  options: ValueConverterOptions,
): TypeMapping | undefined {
  switch (typeOid) {
    case oid.BOOL:
      return { schema: { type: 'boolean' }, convert: toBoolean, textJson: 'boolean' }
    case oid.INT2:
      return { schema: { type: 'int16' }, convert: toNumber, textJson: 'same' }
    case oid.INT4:
      return { schema: { type: 'int32' }, convert: toNumber, textJson: 'same' }
    case oid.INT8:
    case oid.OID:
      return { schema: { type: 'int64' }, convert: toInt64, textJson: 'same' }
    case oid.FLOAT4:
      return { schema: { type: 'float32' }, convert: toNumber, byteJson: floatJson }
    case oid.FLOAT8:
      return { schema: { type: 'float64' }, convert: toNumber, byteJson: floatJson }
    case oid.NUMERIC:
      return numericMapping(typeMod, options)
    case oid.MONEY:
      return moneyMapping(options)
    case oid.BYTEA:
      return {
        schema: options.binaryHandlingMode === 'bytes' ? { type: 'bytes' } : { type: 'string' },
        convert: (text) => encodeBinary(parseBytea(text), options.binaryHandlingMode),
      }
    case oid.UUID:
      return { schema: logical('string', 'io.debezium.data.Uuid'), convert: identity, textJson: 'quoted' }
    case oid.JSON:
    case oid.JSONB:
      return { schema: logical('string', 'io.debezium.data.Json'), convert: identity, textJson: 'quoted' }
    case oid.XML:
      return { schema: logical('string', 'io.debezium.data.Xml'), convert: identity, textJson: 'quoted' }
    case oid.BIT:
    case oid.VARBIT:
      return bitsMapping(typeOid, typeMod)
    case oid.DATE:
      return dateMapping(options)
    case oid.TIME:
      return timeMapping(timePrecision(typeMod), options)
    case oid.TIMESTAMP:
      return timestampMapping(timePrecision(typeMod), options)
    case oid.TIMESTAMPTZ: {
      const precision = timePrecision(typeMod)
      return {
        schema: logical('string', 'io.debezium.time.ZonedTimestamp'),
        convert: lastValueMemo((text) => formatTimestamptz(text, precision)),
        byteJson: timestamptzJson(precision),
      }
    }
    case oid.TIMETZ:
      return { schema: logical('string', 'io.debezium.time.ZonedTime'), convert: formatTimetz }
    case oid.INTERVAL:
      return {
        schema: logical('int64', 'io.debezium.time.MicroDuration'),
        convert: (text) => int64Value(parseIntervalMicros(text)),
      }
    default:
      return undefined
  }
}

/**
 * Remembers the last input and its result. Timestamps repeat from row to row (`now()` is the same for a whole
 * transaction, and an update usually keeps the row's timestamps), and formatting one was ~5% of streaming time.
 * Only for converters that return a string (immutable, so sharing the result is safe).
 */
function lastValueMemo(convert: (text: string) => string): ValueConverter {
  let lastText: string | null = null
  let last = ''
  return (text) => {
    if (text !== lastText) {
      last = convert(text)
      lastText = text
    }
    return last
  }
}

/** Declared fractional-second precision; PgJDBC reports 6 when there is no typmod. */
function timePrecision(typeMod: number): number {
  return typeMod < 0 ? 6 : typeMod
}

function numericMapping(typeMod: number, options: ValueConverterOptions): TypeMapping {
  const hasTypmod = typeMod >= 4
  const precision = hasTypmod ? ((typeMod - 4) >> 16) & 0xffff : 0
  // PostgreSQL 15+ allows a negative scale: sign-extend the low 11 bits.
  const scale = hasTypmod ? ((((typeMod - 4) & 0x7ff) ^ 1024) - 1024) : 0
  if (options.decimalHandlingMode === 'double') {
    return { schema: { type: 'float64' }, convert: toNumber }
  }
  if (options.decimalHandlingMode === 'string') {
    return { schema: { type: 'string' }, convert: (text) => specialDecimalName(text) ?? text }
  }
  if (!hasTypmod || (precision === 0 && scale === 0)) {
    return {
      schema: {
        type: 'struct',
        name: 'io.debezium.data.VariableScaleDecimal',
        version: 1,
        doc: 'Variable scaled decimal',
        fields: [
          { field: 'scale', type: 'int32', optional: false },
          { field: 'value', type: 'bytes', optional: false },
        ],
      },
      convert: (text) => {
        const value = stripTrailingZeros(preciseDecimal(text))
        return { scale: value.scale, value: unscaledToBase64(value.unscaled) }
      },
    }
  }
  return {
    schema: logical('bytes', 'org.apache.kafka.connect.data.Decimal', {
      scale: String(scale),
      'connect.decimal.precision': String(precision),
    }),
    convert: (text) => unscaledToBase64(withScale(preciseDecimal(text), scale).unscaled),
    byteJson: scale >= 0 ? decimalJson(scale) : undefined,
  }
}

function preciseDecimal(text: string) {
  const value = parseDecimal(text)
  if (!value) {
    // Debezium fails the task here too: a Connect Decimal cannot hold NaN or Infinity.
    throw new Error(
      `numeric special value ${text} cannot be represented with decimal.handling.mode=precise; ` +
        `use 'string' or 'double'`,
    )
  }
  return value
}

/** Debezium's string mode names special values after its SpecialValueDecimal enum constants. */
function specialDecimalName(text: string): string | undefined {
  if (text === 'NaN') return 'NAN'
  if (text === 'Infinity') return 'POSITIVE_INFINITY'
  if (text === '-Infinity') return 'NEGATIVE_INFINITY'
  return undefined
}

function moneyMapping(options: ValueConverterOptions): TypeMapping {
  const parse = (text: string) => withScale(parseMoney(text), MONEY_FRACTION_DIGITS)
  switch (options.decimalHandlingMode) {
    case 'double':
      return { schema: { type: 'float64' }, convert: (text) => Number(toPlainString(parse(text))) }
    case 'string':
      return { schema: { type: 'string' }, convert: (text) => toPlainString(parse(text)) }
    case 'precise':
      return {
        schema: logical('bytes', 'org.apache.kafka.connect.data.Decimal', { scale: String(MONEY_FRACTION_DIGITS) }),
        convert: (text) => unscaledToBase64(parse(text).unscaled),
      }
  }
}

function bitsMapping(typeOid: number, typeMod: number): TypeMapping {
  // bit without a length is bit(1); varbit without one is unlimited.
  const length = typeMod > 0 ? typeMod : typeOid === oid.BIT ? 1 : VARBIT_UNLIMITED
  if (length === 1) return { schema: { type: 'boolean' }, convert: (text) => text.includes('1') }
  return {
    schema: logical('bytes', 'io.debezium.data.Bits', { length: String(length) }),
    convert: (text) => bitsToBytes(text).toString('base64'),
  }
}

function dateMapping(options: ValueConverterOptions): TypeMapping {
  const name = options.timePrecisionMode === 'connect' ? 'org.apache.kafka.connect.data.Date' : 'io.debezium.time.Date'
  return { schema: logical('int32', name), convert: parseDate }
}

function timeMapping(precision: number, options: ValueConverterOptions): TypeMapping {
  const mode = options.timePrecisionMode
  if (mode === 'connect' || (mode === 'adaptive' && precision <= 3)) {
    const name = mode === 'connect' ? 'org.apache.kafka.connect.data.Time' : 'io.debezium.time.Time'
    return { schema: logical('int32', name), convert: (text) => Math.floor(parseTimeMicros(text) / 1000) }
  }
  return { schema: logical('int64', 'io.debezium.time.MicroTime'), convert: parseTimeMicros }
}

function timestampMapping(precision: number, options: ValueConverterOptions): TypeMapping {
  const mode = options.timePrecisionMode
  if (mode === 'connect' || precision <= 3) {
    const name = mode === 'connect' ? 'org.apache.kafka.connect.data.Timestamp' : 'io.debezium.time.Timestamp'
    const convert: ValueConverter = (text) => int64Value(floorDiv(parseTimestampMicros(text), 1000n))
    return { schema: logical('int64', name), convert }
  }
  return {
    schema: logical('int64', 'io.debezium.time.MicroTimestamp'),
    convert: (text) => int64Value(parseTimestampMicros(text)),
  }
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b
  return a % b !== 0n && a < 0n ? q - 1n : q
}
