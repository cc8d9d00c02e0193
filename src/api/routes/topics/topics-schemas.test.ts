import { describe, expect, it } from 'vitest'
import type { LogRecord } from '../../../log/topic-log.js'
import { ByteWriter } from '../../../util/byte-writer.js'
import { messageView, writeMessageJson } from './topics-schemas.js'

/** The JSON text writeMessageJson appends, after bytes already in the writer (a fetch writes records back to back). */
function messageJson(r: LogRecord): string {
  const out = new ByteWriter(8)
  out.range(Buffer.from('before'))
  writeMessageJson(r, out)
  return out.bytes.toString('utf8', 6, out.length)
}

const record = (key: string | null, value: string | null, headers = {}): LogRecord => ({
  topic: 'a"b', partition: 1, offset: 7, timestamp: 123, headers,
  key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(value),
})

describe('writeMessageJson (the fast encoding of fetched records)', () => {
  it('encodes exactly what messageView shows, for JSON, text, tombstones and look-alikes', () => {
    const payloads = ['{"a":1}', ' {"a":1}', '[1,"é"]', '{"a":', '{not json}', 'plain', '42', '-1.5', '"quoted"', 'true', 'null', '', 'é{', '[\u2028]']
    for (const key of [null, 'k1', '{"id":5}']) {
      for (const value of [null, ...payloads]) {
        const r = record(key, value, value === null ? {} : { op: 'c' })
        expect(JSON.parse(messageJson(r)), `${key} ${value}`).toEqual(messageView(r))
      }
    }
  })

  it('encodes invalid UTF-8 and nesting deeper than the byte scan tracks as messageView shows them', () => {
    const payloads = [
      Buffer.concat([Buffer.from('{"a":"'), Buffer.of(0xff, 0xc3), Buffer.from('"}')]),
      Buffer.from(`${'['.repeat(600)}1${']'.repeat(600)}`),
    ]
    for (const value of payloads) {
      const r: LogRecord = { topic: 't', partition: 0, offset: 0, timestamp: 0, headers: {}, key: null, value }
      expect(JSON.parse(messageJson(r))).toEqual(messageView(r))
    }
  })
})
