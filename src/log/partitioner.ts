/**
 * Kafka's default key partitioner: `toPositive(murmur2(keyBytes)) % partitions`, bit for bit, so a key lands in the
 * partition Kafka's Java client would put it in. Pure; no I/O.
 */

const SEED = 0x9747b28c
const M = 0x5bd1e995
const R = 24

/**
 * Kafka's `Utils.murmur2` of `data[start, end)`: 32-bit MurmurHash2 with Kafka's seed, returned as a signed 32-bit
 * integer.
 */
export function murmur2(data: Uint8Array, start = 0, end = data.length): number {
  const length = end - start
  let h = (SEED ^ length) | 0
  const length4 = length >>> 2
  for (let i = 0; i < length4; i++) {
    const i4 = start + i * 4
    let k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24)
    k = Math.imul(k, M)
    k ^= k >>> R
    k = Math.imul(k, M)
    h = Math.imul(h, M)
    h ^= k
  }
  const tail = start + (length & ~3)
  // Java's switch falls through: 3 → 2 → 1, and only the last case multiplies.
  switch (length % 4) {
    case 3:
      h ^= data[tail + 2] << 16
    // falls through
    case 2:
      h ^= data[tail + 1] << 8
    // falls through
    case 1:
      h ^= data[tail]
      h = Math.imul(h, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not `Math.abs`, which breaks on MIN_VALUE). */
export function toPositive(n: number): number {
  return n & 0x7fffffff
}

/** The partition of the key `key[start, end)` (the whole of `key` by default). */
export function partitionForKey(key: Uint8Array, partitions: number, start = 0, end = key.length): number {
  return partitions === 1 ? 0 : toPositive(murmur2(key, start, end)) % partitions
}
