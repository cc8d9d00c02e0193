/** The check every way into the log makes of an AppendRecord's value frame (topic-log.ts ValueFrame). */
import { InvalidLogRequestError } from './log-errors.js'
import type { ValueFrame } from './topic-log.js'

/** Throws the log's InvalidLogRequestError, naming `field`, unless `frame` is absent or bytes around a value. */
export function checkValueFrame(frame: ValueFrame | undefined, value: Uint8Array | null | undefined, field: string): ValueFrame | undefined {
  if (frame === undefined) return undefined
  if (!(frame?.prefix instanceof Uint8Array) || !(frame.suffix instanceof Uint8Array)) {
    throw new InvalidLogRequestError(field, `${field} must have a prefix and a suffix of bytes`)
  }
  if (value === null || value === undefined) throw new InvalidLogRequestError(field, `${field} needs a non-null value to frame`)
  return frame
}
