import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../../../test/harness/seeded-random.js'
import { copyRows } from './postgresql/copy-rows.js'
import { FlatObjectScanner, copyRoom, writeCopyValue } from './flat-json.js'

/** The COPY line writeCopyValue makes of an object's fields. */
function copyLine(object: NonNullable<ReturnType<FlatObjectScanner['scan']>>): string {
  const fields = object.layout.names.length
  const out = Buffer.alloc(copyRoom(object.end - object.start) + fields * 3)
  let at = 0
  for (let f = 0; f < fields; f++) {
    if (f > 0) out[at++] = 0x09
    at = writeCopyValue(object, f, out, at)
  }
  return out.toString('utf8', 0, at)
}

describe('FlatObjectScanner', () => {
  it('gives what copyRows writes for the parsed object, for every object it takes', () => {
    const random = mulberry32(11)
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]
    const strings = ['', 'plain', 'é ü 日本', '\\"q\\"', '\\\\back', '\\/slash', '\\b\\f\\n\\r\\t', '\\u0041\\u00e9\\u65e5\\u000a\\u005c\\u0009', 'tab\\tend',
      '\\ud83d\\ude00', '\\u0000', 'bad\\q', 'raw\ttab', '\\u12', '😀']
    const numbers = ['0', '-1', '42', '9007199254740991', '123456789012345678901234', '1.5', '-0.25', '0.000001', '0.0000001', '1.50', '-0',
      '1e5', '1E-3', '12345.6789012345', '1234567.891234567', '0.1', '100.001', '01', '1.', '-', '.5', '0.10000000000000001', '3.0', '-0.0',
      '0.0000010', '100.000', '123456789012345.0', '1234567890123456.0', '0.00000100', '10.0100', '-7.000000000000000000001']
    const scalars = () => {
      const roll = random()
      if (roll < 0.45) return `"${pick(strings)}${random() < 0.3 ? pick(strings) : ''}"`
      if (roll < 0.8) return pick(numbers)
      return pick(['true', 'false', 'null', 'nul', '{"a":1}', '[1]'])
    }
    const scanner = new FlatObjectScanner()
    let taken = 0
    for (let i = 0; i < 4000; i++) {
      const names = ['id', 'name', 'n', random() < 0.1 ? 'id' : 'x', 'é\\u00e9']
      const count = 1 + Math.floor(random() * names.length)
      const space = random() < 0.2 ? ' ' : ''
      const text = `${space}{${names.slice(0, count).map((n) => `${space}"${n}"${space}:${space}${scalars()}`).join(',')}}${space}`
      const padded = Buffer.from(`xx${text}yy`)
      const scanned = scanner.scan(padded, 2, padded.length - 2)
      let parsed: Record<string, unknown> | undefined
      try {
        parsed = JSON.parse(text)
      } catch {
        parsed = undefined
      }
      if (parsed === undefined) {
        expect(scanned, text).toBeNull()
        continue
      }
      if (scanned === null) continue
      taken++
      expect(scanned.layout.names, text).toEqual(Object.keys(parsed))
      // A long integer is flagged, so the decoder can parse the exact way; short ones JSON.parse keeps exact.
      const columns = scanned.layout.names as string[]
      const exact = Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, typeof v === 'number' && !Number.isSafeInteger(v) && Number.isInteger(v) ? undefined : v]))
      if (Object.values(exact).includes(undefined)) {
        expect(scanned.longIntegers, text).toBe(true)
        continue
      }
      const expected = copyRows(columns, new Set(), [parsed])
      expect(expected, text).not.toBeNull()
      expect(`${copyLine(scanned)}\n`, text).toBe(expected)
    }
    expect(taken).toBeGreaterThan(300)
  })

  it('leaves what it does not take to the full decode', () => {
    const scanner = new FlatObjectScanner()
    const scan = (text: string) => scanner.scan(Buffer.from(text), 0, Buffer.byteLength(text))
    for (const text of ['{"a":{"b":1}}', '{"a":[1]}', '{"a":1,"a":2}', '{"a":"\\u0000"}', '{"a":"\\ud800"}', '{"a":1e3}',
      '{"a":0.0000001}', '{"a":0.1234567890123456}', '{"a":1}x', '[1]', '{"a":1,}', '{"a"1}', '{"a":01}']) {
      expect(scan(text), text).toBeNull()
    }
    expect(scan('{}')?.layout.names).toEqual([])
    // Numbers are spanned as JavaScript prints them.
    const numbers = scan('{"a":3.0,"b":1.50,"c":-0,"d":-0.0,"e":0.000100,"f":120}')
    expect(numbers && copyLine(numbers)).toBe('3\t1.5\t0\t0\t0.0001\t120')
    expect(scan(' { "a" : "x" , "b" : 1.5 } ')?.layout.names).toEqual(['a', 'b'])
  })

  it('keeps the values of every object while later objects fill new span arrays', () => {
    const scanner = new FlatObjectScanner()
    const texts = Array.from({ length: 20_000 }, (_, i) => `{"id":${i},"name":"n${i}","flag":${i % 2 === 0}}`)
    const objects = texts.map((text) => scanner.scan(Buffer.from(text), 0, text.length))
    // 20,000 objects of three fields need about a megabyte of spans: several shared arrays.
    expect(new Set(objects.map((o) => o?.spans)).size).toBeGreaterThan(1)
    objects.forEach((object, i) => expect(object && copyLine(object)).toBe(`${i}\tn${i}\t${i % 2 === 0}`))
  })

  it('shares one layout among objects with the same names', () => {
    const scanner = new FlatObjectScanner()
    const scan = (text: string) => scanner.scan(Buffer.from(text), 0, text.length)
    const a = scan('{"id":1,"v":"x"}')
    const b = scan('{"id":2,"v":null}')
    const c = scan('{"id":3}')
    expect(b?.layout).toBe(a?.layout)
    expect(c?.layout).not.toBe(a?.layout)
    expect(scan('{"id":4,"v":true}')?.layout).toBe(a?.layout)
  })
})
