import { describe, expect, it } from 'vitest'
import { CopyDataFramer } from './copy-data-framer.js'

/** A protocol message: type byte, length (counting itself), body. */
function message(type: string, body: Buffer | string): Buffer {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body)
  const header = Buffer.alloc(5)
  header.write(type, 0, 'latin1')
  header.writeUInt32BE(bytes.length + 4, 1)
  return Buffer.concat([header, bytes])
}

const ROWS = ['1\tone', '', '2\t' + 'x'.repeat(3000), '3\tü\\ttab', '4\tlast']
const copyOutResponse = message('H', Buffer.from([0, 0, 2, 0, 0, 0, 0]))
const notice = message('N', 'SNOTICE\0Mrow 2\0\0')
const parameter = message('S', 'TimeZone\0UTC\0')
const afterDone = Buffer.concat([message('C', 'COPY 5\0'), message('Z', 'I')])
const error = Buffer.concat([message('E', 'SERROR\0C22012\0Mdivision by zero\0\0'), message('Z', 'I')])

/** What the server sends for ROWS, with a notice and a parameter change among them, then `end`. */
function stream(end: 'done' | 'error'): { bytes: Buffer; tail: Buffer } {
  const rows = ROWS.map((row) => message('d', `${row}\n`))
  const parts = [copyOutResponse, rows[0], rows[1], notice, rows[2], parameter, rows[3], rows[4]]
  const tail = end === 'done' ? afterDone : error
  if (end === 'done') parts.push(message('c', ''))
  return { bytes: Buffer.concat([...parts, tail]), tail }
}

/**
 * Pushes `chunks` through a framer as the COPY reader does; the rows as text, and what pg reads next: the framer's
 * `rest`, then the chunks after the one that ended the COPY (the reader gives those to pg as they come).
 */
function frame(chunks: Buffer[]): { rows: string[]; rest: Buffer | null } {
  const framer = new CopyDataFramer()
  const rows: string[] = []
  const toPg: Buffer[] = []
  for (const chunk of chunks) {
    if (framer.rest !== null) {
      toPg.push(chunk)
      continue
    }
    for (const { bytes, rows: ranges, count } of framer.push(chunk)) {
      for (let r = 0; r < count; r++) rows.push(bytes.toString('utf8', ranges[2 * r], ranges[2 * r + 1]))
    }
  }
  return { rows, rest: framer.rest === null ? null : Buffer.concat([...framer.rest, ...toPg]) }
}

describe('CopyDataFramer', () => {
  it.each(['done', 'error'] as const)('finds every row and hands back what follows the COPY (%s), however the bytes are split', (end) => {
    const { bytes, tail } = stream(end)
    const expectedRows = ROWS
    expect(frame([bytes])).toEqual({ rows: expectedRows, rest: tail })
    // Every split into two chunks, and into three around every position (a header cut anywhere, a row in pieces).
    for (let at = 0; at <= bytes.length; at++) {
      expect(frame([bytes.subarray(0, at), bytes.subarray(at)]), `split at ${at}`).toEqual({ rows: expectedRows, rest: tail })
    }
    for (let at = 0; at + 3 <= bytes.length; at += 7) {
      const chunks = [bytes.subarray(0, at), bytes.subarray(at, at + 3), bytes.subarray(at + 3)]
      expect(frame(chunks), `split at ${at} and ${at + 3}`).toEqual({ rows: expectedRows, rest: tail })
    }
    // A byte at a time.
    expect(frame(Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)))).toEqual({ rows: expectedRows, rest: tail })
  })

  it('looks at nothing pushed after the COPY ended', () => {
    const { bytes, tail } = stream('done')
    const framer = new CopyDataFramer()
    expect([...framer.push(bytes)].reduce((n, chunk) => n + chunk.count, 0)).toBe(ROWS.length)
    expect([...framer.push(message('d', 'not a row\n'))]).toEqual([])
    expect(Buffer.concat(framer.rest ?? [])).toEqual(tail)
  })

  it('hands back an error sent before any row, with what follows it', () => {
    expect(frame([error])).toEqual({ rows: [], rest: error })
    expect(frame([error.subarray(0, 3), error.subarray(3)])).toEqual({ rows: [], rest: error })
  })
})
