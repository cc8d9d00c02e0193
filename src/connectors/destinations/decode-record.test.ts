import { describe, expect, it } from 'vitest'
import type { LogRecord } from '../../log/topic-log.js'
import { mulberry32 } from '../../../test/harness/seeded-random.js'
import { PackedView, RecordBatch } from '../../log/record-batch.js'
import { RecordDecoder, decodeRecord } from './decode-record.js'
import { type DestinationRecord, ExactInteger, type FlatRead } from './destination.js'
import { isNullValue } from './flat-json.js'

const record = (key: string | null, value: string | null): LogRecord => ({
  topic: 't', partition: 0, offset: 7, timestamp: 0, headers: {},
  key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(value),
})

const source = '{"ts_ms":1,"ts_ns":1796019963716123000}'

describe('decodeRecord', () => {
  it('keeps int64 values beyond 2^53 exact in keys and rows', () => {
    const decoded = decodeRecord(record(
      '{"id":9007199254740993}',
      `{"before":null,"after":{"id":9007199254740993,"n":-9223372036854775808,"small":42,"f":1.5,"e":1e300},"source":${source},"op":"c"}`,
    ))
    expect(decoded.key).toEqual({ id: new ExactInteger('9007199254740993') })
    expect(decoded.value?.after).toEqual({
      id: new ExactInteger('9007199254740993'), n: new ExactInteger('-9223372036854775808'), small: 42, f: 1.5, e: 1e300,
    })
    // What the PostgreSQL writer sends: the digits as they were.
    expect(JSON.stringify(decoded.value?.after)).toBe('{"id":"9007199254740993","n":"-9223372036854775808","small":42,"f":1.5,"e":1e+300}')
  })

  it('leaves ordinary records on the plain JSON.parse path', () => {
    const decoded = decodeRecord(record('{"id":1}', `{"before":{"id":1},"after":null,"source":${source},"op":"d"}`))
    expect(decoded.key).toEqual({ id: 1 })
    expect(decoded.value?.before).toEqual({ id: 1 })
    expect(decoded.value?.op).toBe('d')
  })

  it('unwraps schemas and rejects what is not a change event', () => {
    const wrapped = decodeRecord(record('{"schema":{},"payload":{"id":2}}', `{"schema":{"type":"struct"},"payload":{"before":null,"after":{"id":2},"source":${source},"op":"r"}}`))
    expect(wrapped.key).toEqual({ id: 2 })
    expect(wrapped.valueSchema).toEqual({ type: 'struct' })
    expect(() => decodeRecord(record('{"id":1}', '{"op":"x"}'))).toThrow('not a Debezium change event')
    expect(() => decodeRecord(record('{"id":1}', 'not json'))).toThrow('not JSON')
  })
})

/**
 * The record packed as a read of the log returns a snapshot read: when its value is `…"after":` + an after image +
 * the rest, the after image is the value's own bytes and the rest its frame (as the snapshot emitter appends them);
 * other values whole.
 */
function framedView(input: LogRecord): PackedView {
  const value = input.value?.toString() ?? ''
  const at = value.indexOf('"after":{') + '"after":'.length
  let end = at
  if (at >= '"after":'.length) {
    // The after images of the test stream end at their first `}` followed by `,"source"`, `,"op"` or `}` (or never).
    const match = /\}(?=,"source"|,"op"|,"transaction"|\}$)/.exec(value.slice(at))
    end = match ? at + match.index + 1 : at
  }
  const batch = new RecordBatch()
  if (end > at) {
    batch.add({ ...input, partition: 0, offset: 7, value: Buffer.from(value.slice(at, end)),
      frame: { prefix: Buffer.from(value.slice(0, at)), suffix: Buffer.from(value.slice(end)) } })
  } else {
    batch.add({ ...input, partition: 0, offset: 7 })
  }
  return new PackedView(batch.pack())
}

describe('RecordDecoder', () => {
  const envelope = (after: string, tail = `,"source":${source},"transaction":null,"op":"r","ts_ms":5}`) => `{"before":null,"after":${after}${tail}`

  /**
   * A decode's result or error message, to compare the two paths: its fields as a reader sees them (a flat read's
   * key and value are parsed when read, and must equal decodeRecord's); `flat`, which decodeRecord does not give, left
   * out.
   */
  const outcome = (decode: () => DestinationRecord) => {
    try {
      const { topic, partition, offset, key, value, valueSchema } = decode()
      return { value: { topic, partition, offset, key, value: value === null ? null : { ...value }, valueSchema } }
    } catch (err) {
      return { error: `${(err as Error).name}: ${(err as Error).message}` }
    }
  }

  it('decodes a stream of records exactly as decodeRecord does, envelopes shared or not', () => {
    const random = mulberry32(7)
    const afters = [
      '{"id":1,"name":"a"}', '{"id":2,"source":{"op":"d"},"s":"} \\" {"}', '{"id":3,"big":9007199254740993}', '{"id":4,"n":[1,{"a":"]"}]}',
      '{"id":5,"bad":}', '{"id":6', '{"id":7}x', '{}', '{"id":8,"t":"tab\\tquote\\"brace}"}',
      // Flat objects, and near misses the flat scanner must leave to the full decode.
      '{"id":10,"s":"a\\u00e9\\/b","f":1.25,"ok":true,"no":false,"z":null}', '{ "id" : 11 , "n" : -0.5 }', '{"id":12,"id":13}',
      '{"id":14,"n":1.50}', '{"id":15,"n":1e5}', '{"id":16,"n":-0}', '{"id":17,"n":0.0000001}', '{"id":18,"big":123456789012345678901}',
      '{"id":19,"s":"\\u0000"}', '{"id":20,"s":"\\ud83d\\ude00"}', '{"id":21,"s":"bad\\x"}', '{"id":22,"n":01}', '{"id":23,"n":1.}',
      '{"id":24,"s":"raw\ttab"}', '{"id":"25","s":"é"}', '{"id":26,"n":12345.6789012345}', '{"id":27,"n":1234567.891234567}',
    ]
    const tails = [undefined, `,"source":${source},"transaction":null,"op":"c","ts_ms":6}`, `,"source":${source},"op":"x"}`, ',"op":"r"}garbage', `,"source":{"ts_ms":2},"op":"r"}`]
    // Two of the same length, so only their bytes tell them apart.
    const schemas = ['{"type":"struct","name":"x.Envelope"}', '{"type":"struct","name":"z.Envelope"}', '{"type":"struct","name":"y.Envelope","fields":[{"field":"after"}]}']
    const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]
    const decoder = new RecordDecoder()
    // The same stream read packed, as pipelines read it (decodeAt).
    const packedDecoder = new RecordDecoder()
    // And packed with the envelope as the value's frame, as the log keeps snapshot reads.
    const framedDecoder = new RecordDecoder()
    let flat = 0
    // Flat records checked again after the whole stream: what they hold must not change as later records decode.
    const kept: Array<{ record: DestinationRecord; expected: unknown }> = []
    let packedFlat = 0
    let framedFlat = 0
    let framed = 0
    // Runs of a few events of one kind and tail, as a topic holds them; schemas and after images vary within a run.
    let roll = 0
    let tail: string | undefined
    let runLeft = 0
    for (let i = 0; i < 3000; i++) {
      if (runLeft-- <= 0) {
        roll = random()
        tail = pick(tails)
        runLeft = Math.floor(random() * 5)
      }
      const after = pick(afters)
      const value = roll < 0.05 ? `{"schema":null,"payload":${envelope('{"id":9}')}}` : roll < 0.1 ? `{"before":{"id":1},"after":${after},"source":${source},"op":"u"}` :
        roll < 0.4 ? `{"schema":${pick(schemas)},"payload":${envelope(after, tail)}}` : envelope(after, tail)
      // Usually the key of the row's own id (as a flat read has it), sometimes another, a string or not an object.
      const id = /"id":\s*("?\d+"?)/.exec(after)?.[1] ?? '1'
      const keyRoll = random()
      const key = keyRoll < 0.02 ? '[1]' : keyRoll < 0.1 ? '{"id":1}' : keyRoll < 0.15 ? `{"schema":1,"payload":${id}}` : `{"id":${id}}`
      const input = record(key, value)
      const decoded = outcome(() => decoder.decode(input))
      const expected = outcome(() => decodeRecord(input))
      expect(decoded, `${key} ${value}`).toEqual(expected)
      const packed = new PackedView(RecordBatch.of([{ ...input, partition: 0, offset: 7 }]).pack())
      let packedRecord: DestinationRecord | undefined
      expect(outcome(() => (packedRecord = packedDecoder.decodeAt(packed, 0))), `packed: ${key} ${value}`).toEqual(expected)
      if (packedRecord?.flat) {
        packedFlat++
        kept.push({ record: packedRecord, expected })
      }
      const framedPacked = framedView(input)
      if (framedPacked.frameIndex(0) >= 0) framed++
      let framedRecord: DestinationRecord | undefined
      expect(outcome(() => (framedRecord = framedDecoder.decodeAt(framedPacked, 0))), `framed: ${key} ${value}`).toEqual(expected)
      if (framedRecord?.flat) framedFlat++
      if (!('error' in decoded) && (decoder.decode(input) as DestinationRecord).flat) flat++
    }
    // The flat path ran often enough to be tested (about one record in twenty qualifies).
    expect(flat).toBeGreaterThan(100)
    expect(packedFlat).toBe(flat)
    for (const { record, expected } of kept) {
      const after = (record.flat as FlatRead).after
      const row = (expected as { value: { value: { after: Record<string, unknown> } } }).value.value.after
      expect(JSON.parse(after.bytes.toString('utf8', after.start, after.end))).toEqual(row)
      expect(after.layout.names.map((_, f) => isNullValue(after, f))).toEqual(after.layout.names.map((name) => row[name] === null))
    }
    expect(framed).toBeGreaterThan(1000)
    expect(framedFlat).toBe(flat)
  })

  it('parses only the after image when the rest equals the last fully decoded event, sharing its source', () => {
    const decoder = new RecordDecoder()
    const first = decoder.decode(record('{"id":1}', envelope('{"id":1}')))
    const second = decoder.decode(record('{"id":2}', envelope('{"id":2,"x":"y"}')))
    expect(second.value?.after).toEqual({ id: 2, x: 'y' })
    expect(second.value?.source).toBe(first.value?.source)
    expect(first.value?.after).toEqual({ id: 1 })
    // With a schema wrapper too: the schema is parsed once and shared.
    const wrapped = (after: string) => `{"schema":{"type":"struct","fields":[{"field":"after"}]},"payload":${envelope(after)}}`
    const third = decoder.decode(record('{"id":3}', wrapped('{"id":3}')))
    const fourth = decoder.decode(record('{"id":4}', wrapped('{"id":4}')))
    expect(fourth.value?.after).toEqual({ id: 4 })
    expect(fourth.valueSchema).toBe(third.valueSchema)
    expect(fourth.value?.source).toBe(third.value?.source)
    // Streamed events differ in their source block, but their schema is parsed once too.
    const streamed = (id: number) => `{"schema":{"type":"struct","fields":[{"field":"after"}]},"payload":{"before":null,"after":{"id":${id}},"source":{"lsn":${id}},"op":"c"}}`
    const fifth = decoder.decode(record('{"id":5}', streamed(5)))
    const sixth = decoder.decode(record('{"id":6}', streamed(6)))
    expect(sixth.value).toEqual({ before: null, after: { id: 6 }, source: { lsn: 6 }, op: 'c' })
    expect(sixth.valueSchema).toBe(fifth.valueSchema)
  })
})
