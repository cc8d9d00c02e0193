/**
 * Entity ids in the shape Streamkap clients expect: 24 lowercase hex characters (MongoDB ObjectId layout:
 * 4 bytes of seconds since the epoch, then 8 random bytes), so ids sort roughly by creation time.
 */
import { randomBytes } from 'node:crypto'

export function newId(now: number = Date.now()): string {
  const seconds = Math.floor(now / 1000)
  const head = seconds.toString(16).padStart(8, '0').slice(-8)
  return head + randomBytes(8).toString('hex')
}

export function isId(value: string): boolean {
  return /^[0-9a-f]{24}$/.test(value)
}
