/**
 * Classifies target-database errors where they are caught: SQLSTATE class 22 (data exception) and 23 (integrity
 * constraint violation), a datatype mismatch, or a row too big mean the records' content was rejected — a
 * RecordError, whose records the runtime isolates and dead-letters. Everything else (connection loss, shutdown,
 * serialization failures, missing privileges or tables) means the destination cannot take writes now: retried with
 * backoff, nothing skipped.
 */
import { RecordError } from '../destination.js'

const RECORD_CODES = new Set(['42804', '54000'])

export function classifyPgError(err: unknown): unknown {
  if (err instanceof RecordError) return err
  const code = (err as { code?: unknown })?.code
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && (code.startsWith('22') || code.startsWith('23') || RECORD_CODES.has(code))) {
    return new RecordError(`${(err as Error).message} (SQLSTATE ${code})`, { cause: err })
  }
  return err
}
