import { describe, expect, it } from 'vitest'
import { formatTimestamptz } from './temporal.js'

describe('formatTimestamptz', () => {
  it('re-spells UTC text exactly as the date arithmetic does for other offsets', () => {
    // The same instants written at +00 (fast path) and at +05:30 (the arithmetic path) must print identically.
    const cases: Array<[string, string]> = [
      ['2026-11-30 06:00:00.123456+00', '2026-11-30 11:30:00.123456+05:30'],
      ['2026-11-30 06:00:00.12+00', '2026-11-30 11:30:00.12+05:30'],
      ['2026-11-30 06:00:00+00', '2026-11-30 11:30:00+05:30'],
      ['0099-01-01 00:00:00.5+00', '0099-01-01 05:30:00.5+05:30'],
      ['2000-02-29 23:59:59.999999+00', '2000-03-01 05:29:59.999999+05:30'],
    ]
    for (const precision of [-1, 0, 1, 3, 6]) {
      for (const [utc, shifted] of cases) {
        expect(formatTimestamptz(utc, precision)).toBe(formatTimestamptz(shifted, precision))
      }
    }
    expect(formatTimestamptz('2026-11-30 06:00:00.12+00', 6)).toBe('2026-11-30T06:00:00.120000Z')
    expect(formatTimestamptz('2026-11-30 06:00:00.12+00', 3)).toBe('2026-11-30T06:00:00.120Z')
    expect(formatTimestamptz('2026-11-30 06:00:00+00', -1)).toBe('2026-11-30T06:00:00Z')
    expect(formatTimestamptz('2026-11-30 06:00:00.1234+00', -1)).toBe('2026-11-30T06:00:00.1234Z')
  })

  it('keeps BC dates and five-digit years on the arithmetic path', () => {
    expect(formatTimestamptz('0001-01-01 00:00:00+00 BC', 6)).toBe('0000-01-01T00:00:00.000000Z')
    expect(formatTimestamptz('10000-01-01 00:00:00+00', -1)).toBe('+10000-01-01T00:00:00Z')
  })
})
