import { describe, expect, it } from 'vitest'
import { murmur2, partitionForKey, toPositive } from './partitioner.js'

describe('partitioner (Kafka murmur2)', () => {
  // Vectors from Kafka's UtilsTest.testMurmur2.
  const cases: Array<[Buffer, number]> = [
    [Buffer.from('21'), -973932308],
    [Buffer.from('foobar'), -790332482],
    [Buffer.from('a-little-bit-long-string'), -985981536],
    [Buffer.from('a-little-bit-longer-string'), -1486304829],
    [Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'), -58897971],
    [Buffer.from('abc'), 479470107],
  ]

  it.each(cases)('murmur2(%s) matches Kafka', (key, expected) => {
    expect(murmur2(key)).toBe(expected)
  })

  it('toPositive clears the sign bit like Kafka (not Math.abs)', () => {
    expect(toPositive(-1)).toBe(0x7fffffff)
    expect(toPositive(-2147483648)).toBe(0)
    expect(toPositive(5)).toBe(5)
  })

  it('routes keys to toPositive(murmur2) % partitions', () => {
    expect(partitionForKey(Buffer.from('foobar'), 7)).toBe((-790332482 & 0x7fffffff) % 7)
    expect(partitionForKey(Buffer.alloc(0), 3)).toBe(toPositive(murmur2(Buffer.alloc(0))) % 3)
  })

  it('hashes a range of a larger buffer as it hashes those bytes alone (every tail length)', () => {
    const around = Buffer.from('xx-foobar-key-7-yy')
    for (let end = 3; end <= around.length; end++) {
      expect(murmur2(around, 2, end)).toBe(murmur2(Buffer.from(around.subarray(2, end))))
      expect(partitionForKey(around, 7, 2, end)).toBe(partitionForKey(Buffer.from(around.subarray(2, end)), 7))
    }
    expect(partitionForKey(Buffer.from('foobar'), 1)).toBe(0)
  })
})
