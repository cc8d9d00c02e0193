import { describe, expect, it } from 'vitest'
import type { PgTypeInfo } from './type-registry.js'
import { TypeRegistry } from './type-registry.js'
import { parseArrayLiteral } from './array-literal.js'
import { parseCopyTextRow } from './copy-text.js'
import { unchangedToastPlaceholder } from './toast-placeholder.js'

// A hand-made catalogue: the built-ins need no rows; custom types and arrays do.
function type(oid: number, name: string, kind: string, extra: Partial<PgTypeInfo> = {}): PgTypeInfo {
  return { oid, schema: 'public', name, kind, elementOid: 0, baseOid: 0, baseTypeMod: -1, enumLabels: [], delimiter: ',', ...extra }
}
const CATALOGUE: PgTypeInfo[] = [
  type(90001, 'mood', 'e', { enumLabels: ['sad', 'ok', 'happy'] }),
  type(90002, '_mood', 'b', { elementOid: 90001 }),
  type(90003, 'price', 'd', { baseOid: 1700, baseTypeMod: ((8 << 16) | 3) + 4 }),
  type(1007, '_int4', 'b', { elementOid: 23 }),
  type(1009, '_text', 'b', { elementOid: 25 }),
  type(1231, '_numeric', 'b', { elementOid: 1700 }),
  type(1185, '_timestamptz', 'b', { elementOid: 1184 }),
  type(1001, '_bytea', 'b', { elementOid: 17 }),
]
const registry = new TypeRegistry(CATALOGUE)
const col = (typeOid: number, typeMod = -1) => registry.forColumn({ typeOid, typeMod })
const convert = (typeOid: number, text: string, typeMod = -1) => registry.converterFor(typeOid, typeMod)(text)
const numericMod = (precision: number, scale: number) => ((precision << 16) | scale) + 4

describe('TypeRegistry: integers, floats, booleans, strings', () => {
  it('maps integer types and keeps int64 exact beyond 2^53', () => {
    expect(col(21).schema).toEqual({ type: 'int16', optional: true })
    expect(convert(21, '-32768')).toBe(-32768)
    expect(col(23).schema.type).toBe('int32')
    expect(convert(23, '2147483647')).toBe(2147483647)
    expect(col(20).schema.type).toBe('int64')
    expect(convert(20, '9007199254740991')).toBe(9007199254740991)
    expect(convert(20, '9223372036854775807')).toBe(9223372036854775807n)
    expect(convert(20, '-9223372036854775808')).toBe(-9223372036854775808n)
    expect(convert(26, '4294967295')).toBe(4294967295)
  })

  it('maps floats including the special values', () => {
    expect(col(700).schema.type).toBe('float32')
    expect(col(701).schema.type).toBe('float64')
    expect(convert(700, '3.14')).toBe(3.14)
    expect(convert(701, '-1.5e-300')).toBe(-1.5e-300)
    expect(convert(701, 'NaN')).toBeNaN()
    expect(convert(701, 'Infinity')).toBe(Number.POSITIVE_INFINITY)
    expect(convert(700, '-Infinity')).toBe(Number.NEGATIVE_INFINITY)
  })

  it('maps booleans and character types', () => {
    expect(col(16).schema).toEqual({ type: 'boolean', optional: true })
    expect(convert(16, 't')).toBe(true)
    expect(convert(16, 'f')).toBe(false)
    for (const oid of [25, 1043, 1042, 19, 18, 869, 650, 829]) expect(col(oid).schema.type).toBe('string')
    expect(convert(1042, 'ab  ')).toBe('ab  ')
    expect(registry.forColumn({ typeOid: 25, typeMod: -1 }, false).schema).toEqual({ type: 'string', optional: false })
  })

  it('maps uuid, json, jsonb and xml to their logical names', () => {
    expect(col(2950).schema).toEqual({ type: 'string', optional: true, name: 'io.debezium.data.Uuid', version: 1 })
    expect(col(114).schema.name).toBe('io.debezium.data.Json')
    expect(col(3802).schema.name).toBe('io.debezium.data.Json')
    expect(col(142).schema.name).toBe('io.debezium.data.Xml')
    expect(convert(3802, '{"a": 1}')).toBe('{"a": 1}')
  })

  it('maps unknown types to their text', () => {
    expect(col(3904).schema).toEqual({ type: 'string', optional: true }) // int4range, not in the catalogue
    expect(convert(3904, '[1,5)')).toBe('[1,5)')
  })
})

describe('TypeRegistry: numeric and money', () => {
  it('encodes numeric(p,s) as a Connect Decimal: base64 of the two\'s-complement unscaled value', () => {
    expect(col(1700, numericMod(10, 2)).schema).toEqual({
      type: 'bytes', optional: true, name: 'org.apache.kafka.connect.data.Decimal', version: 1,
      parameters: { scale: '2', 'connect.decimal.precision': '10' },
    })
    expect(convert(1700, '1.25', numericMod(10, 2))).toBe('fQ==') // 125 = 0x7d
    expect(convert(1700, '-3.50', numericMod(10, 2))).toBe('/qI=') // -350 = 0xfea2
    expect(convert(1700, '128', numericMod(5, 0))).toBe('AIA=') // sign bit needs a leading 0x00
    expect(convert(1700, '0.00', numericMod(5, 2))).toBe('AA==')
    expect(convert(1700, '-128', numericMod(5, 0))).toBe('gA==')
  })

  it('encodes numeric without typmod as a VariableScaleDecimal with trailing zeros stripped', () => {
    expect(col(1700).schema).toEqual({
      type: 'struct', optional: true, name: 'io.debezium.data.VariableScaleDecimal', version: 1,
      doc: 'Variable scaled decimal',
      fields: [{ field: 'scale', type: 'int32', optional: false }, { field: 'value', type: 'bytes', optional: false }],
    })
    expect(convert(1700, '1.500')).toEqual({ scale: 1, value: 'Dw==' })
    expect(convert(1700, '100')).toEqual({ scale: 0, value: 'ZA==' })
    expect(convert(1700, '0.000')).toEqual({ scale: 0, value: 'AA==' })
    expect(convert(1700, '-0.001')).toEqual({ scale: 3, value: '/w==' })
  })

  it('handles NaN per decimal mode', () => {
    expect(() => convert(1700, 'NaN')).toThrow(/precise/)
    const asDouble = new TypeRegistry([], { decimalHandlingMode: 'double' })
    expect(asDouble.forColumn({ typeOid: 1700, typeMod: numericMod(10, 2) }).schema.type).toBe('float64')
    expect(asDouble.converterFor(1700, -1)('NaN')).toBeNaN()
    expect(asDouble.converterFor(1700, -1)('-12.5')).toBe(-12.5)
    const asString = new TypeRegistry([], { decimalHandlingMode: 'string' })
    expect(asString.converterFor(1700, numericMod(10, 2))('-3.50')).toBe('-3.50')
    expect(asString.converterFor(1700, -1)('NaN')).toBe('NAN')
    expect(asString.converterFor(1700, -1)('Infinity')).toBe('POSITIVE_INFINITY')
  })

  it('maps a domain to its base type with the domain typmod', () => {
    expect(col(90003).schema.parameters).toEqual({ scale: '3', 'connect.decimal.precision': '8' })
    expect(convert(90003, '1.500')).toBe('Bdw=') // 1500 = 0x05dc
  })

  it('parses money with its currency symbol, grouping and sign', () => {
    expect(col(790).schema.parameters).toEqual({ scale: '2' })
    expect(convert(790, '$1,234.11')).toBe(Buffer.from([0x01, 0xe2, 0x13]).toString('base64')) // 123411
    expect(convert(790, '-$1,234.11')).toBe(Buffer.from([0xfe, 0x1d, 0xed]).toString('base64')) // -123411
    expect(new TypeRegistry([], { decimalHandlingMode: 'string' }).converterFor(790, -1)('-$0.50')).toBe('-0.50')
  })
})

describe('TypeRegistry: binary and bits', () => {
  it('encodes bytea per binary handling mode', () => {
    expect(col(17).schema).toEqual({ type: 'bytes', optional: true })
    expect(convert(17, '\\x00fffe')).toBe('AP/+')
    expect(convert(17, 'a\\000\\\\')).toBe(Buffer.from([0x61, 0, 0x5c]).toString('base64'))
    const url = new TypeRegistry([], { binaryHandlingMode: 'base64-url-safe' })
    expect(url.forColumn({ typeOid: 17, typeMod: -1 }).schema.type).toBe('string')
    expect(url.converterFor(17, -1)('\\xfbff')).toBe('-_8=')
    expect(new TypeRegistry([], { binaryHandlingMode: 'hex' }).converterFor(17, -1)('\\xABcd')).toBe('abcd')
  })

  it('maps bit(1) to boolean and longer bit strings to little-endian Bits', () => {
    expect(col(1560, 1).schema.type).toBe('boolean')
    expect(convert(1560, '1', 1)).toBe(true)
    expect(col(1560, 7).schema).toEqual({
      type: 'bytes', optional: true, name: 'io.debezium.data.Bits', version: 1, parameters: { length: '7' },
    })
    expect(convert(1560, '1000000', 7)).toBe(Buffer.from([64]).toString('base64'))
    expect(convert(1562, '000000110000001000000001', 24)).toBe(Buffer.from([1, 2, 3]).toString('base64'))
    expect(convert(1562, '00', 2)).toBe('')
    expect(col(1562).schema.parameters).toEqual({ length: '2147483647' })
  })
})

describe('TypeRegistry: date and time', () => {
  it('maps date to days since the epoch, BC and infinity included', () => {
    expect(col(1082).schema).toMatchObject({ type: 'int32', name: 'io.debezium.time.Date', version: 1 })
    expect(convert(1082, '2016-11-04')).toBe(17109)
    expect(convert(1082, '1969-12-31')).toBe(-1)
    expect(convert(1082, '0001-01-01 BC')).toBe(-719528)
    expect(convert(1082, 'infinity')).toBe(-2147472692)
    expect(convert(1082, '-infinity')).toBe(-2147472691)
  })

  it('maps time adaptively by precision', () => {
    expect(col(1083).schema).toMatchObject({ type: 'int64', name: 'io.debezium.time.MicroTime' })
    expect(convert(1083, '13:51:30.123456')).toBe(49890123456)
    expect(convert(1083, '24:00:00')).toBe(86400000000)
    expect(col(1083, 3).schema).toMatchObject({ type: 'int32', name: 'io.debezium.time.Time' })
    expect(convert(1083, '13:51:30.123', 3)).toBe(49890123)
    const micro = new TypeRegistry([], { timePrecisionMode: 'adaptive_time_microseconds' })
    expect(micro.forColumn({ typeOid: 1083, typeMod: 3 }).schema.name).toBe('io.debezium.time.MicroTime')
  })

  it('maps timestamp adaptively, infinity to PgJDBC\'s sentinels', () => {
    expect(col(1114).schema).toMatchObject({ type: 'int64', name: 'io.debezium.time.MicroTimestamp' })
    expect(convert(1114, '2016-11-04 13:51:30.123456')).toBe(1478267490123456)
    expect(convert(1114, '1969-12-31 23:59:59.999999')).toBe(-1)
    expect(convert(1114, 'infinity')).toBe(9223372036825200000n)
    expect(convert(1114, '-infinity')).toBe(-9223372036832400000n)
    expect(col(1114, 3).schema).toMatchObject({ type: 'int64', name: 'io.debezium.time.Timestamp' })
    expect(convert(1114, '2016-11-04 13:51:30.124', 3)).toBe(1478267490124)
    expect(convert(1114, '1969-12-31 23:59:59.999', 3)).toBe(-1)
    expect(convert(1114, 'infinity', 3)).toBe(9223372036825200n)
  })

  it('maps timestamptz to an ISO string in UTC with the column\'s fraction width', () => {
    expect(col(1184).schema).toMatchObject({ type: 'string', name: 'io.debezium.time.ZonedTimestamp', version: 1 })
    expect(convert(1184, '2016-11-04 13:51:30.123456+02')).toBe('2016-11-04T11:51:30.123456Z')
    expect(convert(1184, '2016-11-04 13:51:30+02')).toBe('2016-11-04T11:51:30.000000Z')
    expect(convert(1184, '2016-11-04 13:51:30.5+13')).toBe('2016-11-04T00:51:30.500000Z')
    expect(convert(1184, '2016-11-04 13:51:30.5+13', 3)).toBe('2016-11-04T00:51:30.500Z')
    expect(convert(1184, '2016-11-04 13:51:30+13', 0)).toBe('2016-11-04T00:51:30Z')
    expect(convert(1184, '1879-06-01 00:00:00-11:26:56')).toBe('1879-06-01T11:26:56.000000Z')
    expect(convert(1184, '21016-11-04 13:51:30.123456+07')).toBe('+21016-11-04T06:51:30.123456Z')
    expect(convert(1184, '4714-11-24 00:00:00+00 BC')).toBe('-4713-11-24T00:00:00.000000Z')
    expect(convert(1184, 'infinity')).toBe('infinity')
    expect(convert(1184, '-infinity')).toBe('-infinity')
  })

  it('maps timetz to a UTC ZonedTime string', () => {
    expect(col(1266).schema).toMatchObject({ type: 'string', name: 'io.debezium.time.ZonedTime' })
    expect(convert(1266, '13:51:30.123789+02')).toBe('11:51:30.123789Z')
    expect(convert(1266, '13:51:30.120+02')).toBe('11:51:30.12Z')
    expect(convert(1266, '01:00:00+05:30')).toBe('19:30:00Z')
    expect(convert(1266, '23:00:00-02')).toBe('01:00:00Z')
    expect(convert(1266, '24:00:00+00')).toBe('24:00:00Z')
  })

  it('maps interval to MicroDuration with 365.25/12 days per month', () => {
    expect(col(1186).schema).toMatchObject({ type: 'int64', name: 'io.debezium.time.MicroDuration' })
    // (14 × 30.4375 + 3) days + 4:05:06.78
    expect(convert(1186, '1 year 2 mons 3 days 04:05:06.78')).toBe(37091106780000)
    expect(convert(1186, '-1 years -2 mons +3 days -04:05:06.78')).toBe(-36572706780000)
    expect(convert(1186, '00:00:00')).toBe(0)
    expect(convert(1186, '1 mon')).toBe(2629800000000)
    expect(convert(1186, '-00:00:00.000001')).toBe(-1)
    expect(convert(1186, '100:00:00')).toBe(360000000000)
  })
})

describe('TypeRegistry: enums and arrays', () => {
  it('maps an enum with its allowed labels', () => {
    expect(col(90001).schema).toEqual({
      type: 'string', optional: true, name: 'io.debezium.data.Enum', version: 1, parameters: { allowed: 'sad,ok,happy' },
    })
    expect(convert(90001, 'ok')).toBe('ok')
  })

  it('maps arrays element by element, NULLs and quoting included', () => {
    expect(col(1007).schema).toEqual({ type: 'array', optional: true, items: { type: 'int32', optional: true } })
    expect(convert(1007, '{1,NULL,-3}')).toEqual([1, null, -3])
    expect(convert(1009, '{"a \\"q\\"","NULL",NULL,"x,y","{}",b\\\\}'.replace('b\\\\', '"b\\\\"'))).toEqual([
      'a "q"', 'NULL', null, 'x,y', '{}', 'b\\',
    ])
    expect(convert(1009, '{}')).toEqual([])
    expect(convert(1231, '{1.50,NULL}', numericMod(5, 2))).toEqual(['AJY=', null])
    expect(col(1231, numericMod(5, 2)).schema.items?.parameters).toEqual({ scale: '2', 'connect.decimal.precision': '5' })
    expect(convert(1185, '{"2020-04-01 00:01:02+13"}')).toEqual(['2020-03-31T11:01:02.000000Z'])
    expect(convert(1001, '{"\\\\x0102"}')).toEqual(['AQI='])
    // Enum array elements are declared required, as Debezium does.
    expect(col(90002).schema.items).toMatchObject({ name: 'io.debezium.data.Enum', optional: false })
    expect(convert(90002, '{sad,happy}')).toEqual(['sad', 'happy'])
  })

  it('parses array literal edge cases', () => {
    expect(parseArrayLiteral('[0:1]={7,8}')).toEqual(['7', '8'])
    expect(parseArrayLiteral('{{1,2},{3,NULL}}')).toEqual([['1', '2'], ['3', null]])
    expect(parseArrayLiteral('{(1;2);(3;4)}', ';')).toEqual(['(1', '2)', '(3', '4)'])
    expect(() => parseArrayLiteral('{1,2')).toThrow(/array text/)
    expect(() => parseArrayLiteral('{"a}')).toThrow(/unterminated/)
  })
})

describe('parseCopyTextRow', () => {
  it('splits on tabs, maps \\N to null and unescapes backslash sequences', () => {
    expect(parseCopyTextRow('1\t\\N\ta\\tb\\nc\\\\d\t\\\\x00ff\t\\101\\x42')).toEqual(['1', null, 'a\tb\nc\\d', '\\x00ff', 'AB'])
    expect(parseCopyTextRow('')).toEqual([''])
  })
})

describe('unchangedToastPlaceholder', () => {
  it('shapes Debezium\'s placeholder for the column schema', () => {
    const placeholder = '__debezium_unavailable_value'
    expect(unchangedToastPlaceholder(col(25).schema)).toBe(placeholder)
    expect(unchangedToastPlaceholder(col(3802).schema)).toBe(placeholder)
    expect(unchangedToastPlaceholder(col(17).schema)).toBe(Buffer.from(placeholder).toString('base64'))
    expect(unchangedToastPlaceholder(col(1009).schema)).toEqual([placeholder])
    expect(unchangedToastPlaceholder(col(1007).schema)).toEqual([...Buffer.from(placeholder)])
    expect(unchangedToastPlaceholder(col(1007).schema, Buffer.from([0xff, 1]))).toEqual([-1, 1])
    expect(unchangedToastPlaceholder({ type: 'array', optional: true, items: { type: 'string', optional: true, name: 'io.debezium.data.Uuid' } }, Buffer.from('abc')))
      // Java: UUID.nameUUIDFromBytes("abc".getBytes()) = md5("abc") with the version and variant bits set
      .toEqual(['90015098-3cd2-3fb0-9696-3f7d28e17f72'])
    expect(unchangedToastPlaceholder(col(23).schema)).toBeNull()
  })
})
