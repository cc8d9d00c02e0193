import { isUtf8 } from 'node:buffer'
import { describe, expect, it } from 'vitest'
import { isJsonText } from './json-text.js'
import { mulberry32 } from '../../test/harness/seeded-random.js'

function parses(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

function randomValue(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 5 : 7))
  switch (pick) {
    case 0: return null
    case 1: return next() < 0.5
    case 2: return [0, -0, 1.5, -2e-7, 1e21, 123456789012345, -0.000123][Math.floor(next() * 7)]
    case 3: return ['', 'a"b\\c', 'tab\there\n', 'ünïcödé ✓ 😀', '\u0001\u001f', '</script>'][Math.floor(next() * 6)]
    case 4: return 'plain'
    case 5: return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1))
    default: {
      const object: Record<string, unknown> = {}
      for (let k = 0; k < Math.floor(next() * 4); k++) object[`k${k}${['', '"', 'é'][k % 3]}`] = randomValue(next, depth + 1)
      return object
    }
  }
}

/** Bytes JSON's grammar is made of, so mutations hit its edges more often than random bytes would. */
const ALPHABET = Buffer.from(' \t\n\r{}[]:,"\\/-+.0123456789eEtrufalsn\u0001abcdxyz')

describe('isJsonText', () => {
  it('agrees with JSON.parse on edge cases', () => {
    const cases = [
      '{}', '[]', ' { } ', '{"a":1}', '{"a":1,}', '{,"a":1}', '[1,]', '[,1]', '[1 2]', '{"a" 1}', '{"a":}', '{a:1}',
      '"x"', '"\\u00e9"', '"\\u00G9"', '"\\x"', '"\\"', '"a\tb"', '"\\/"', '1', '-', '-0', '01', '1.', '.5', '1e', '1e+',
      '1E-7', '-0.0e0', 'true', 'tru', 'truex', 'null', 'nul', 'false ', '\ufeff{}', '{}{}', '{} x', '', ' ',
      '[[[[[]]]]]', '[[[[[]]]]', '{"a":[{"b":null}]}', '{"a":[{"b":null}]]', '\u00a0{}', '{"a":"\u2028"}',
    ]
    for (const text of cases) expect([text, isJsonText(Buffer.from(text))]).toEqual([text, parses(text)])
  })

  it('agrees with JSON.parse on generated JSON and on thousands of mutations of it', () => {
    const next = mulberry32(7)
    let valid = 0
    for (let n = 0; n < 3000; n++) {
      const text = JSON.stringify(randomValue(next, 0), null, next() < 0.3 ? 2 : undefined)
      const bytes = Buffer.from(text)
      expect(isJsonText(bytes)).toBe(true)
      for (let m = 0; m < 5; m++) {
        const mutated = Buffer.from(bytes)
        const at = Math.floor(next() * mutated.length)
        const kind = next()
        const byte = ALPHABET[Math.floor(next() * ALPHABET.length)]
        const changed = kind < 0.4 ? Buffer.concat([mutated.subarray(0, at), Buffer.of(byte), mutated.subarray(at)])
          : kind < 0.7 ? Buffer.concat([mutated.subarray(0, at), mutated.subarray(at + 1)])
          : (mutated[at] = byte, mutated)
        if (!isUtf8(changed)) continue
        const expected = parses(changed.toString())
        if (expected) valid++
        expect([changed.toString(), isJsonText(changed)]).toEqual([changed.toString(), expected])
      }
    }
    expect(valid).toBeGreaterThan(500) // the mutations test both answers, not only "no"
  })

  it('treats nesting deeper than it tracks as not JSON, so callers fall back to JSON.parse', () => {
    expect(isJsonText(Buffer.from(`${'['.repeat(512)}1${']'.repeat(512)}`))).toBe(true)
    expect(isJsonText(Buffer.from(`${'['.repeat(513)}1${']'.repeat(513)}`))).toBe(false)
  })
})
