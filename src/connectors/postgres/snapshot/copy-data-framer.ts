/**
 * Finds the rows of a COPY OUT in the chunks a socket delivers: the CopyData messages (one per row), where they are,
 * with no Buffer, copy or string per row. Pure: chunks in, row ranges out (copy-reader.ts does the I/O).
 *
 * Hand-written rather than pg-copy-streams' `to`, which cuts every message out as a Buffer of its own and then joins
 * them into a new buffer: for a snapshot's rows of ~150 bytes that was about a tenth of the main thread's time plus
 * the garbage. Protocol: https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-COPY — during COPY OUT
 * the server sends a CopyOutResponse, CopyData messages (each one row, ending in a newline), and may intersperse
 * NoticeResponse, ParameterStatus and NotificationResponse; CopyDone or an ErrorResponse ends it.
 */

/** Rows of one chunk: row `r` is `bytes[rows[2r], rows[2r + 1])`, its text without the newline. */
export interface CopyRows {
  bytes: Buffer
  rows: Int32Array
  count: number
}

const HEADER = 5
const COPY_DATA = 0x64 // 'd'
const COPY_DONE = 0x63 // 'c'
const ERROR_RESPONSE = 0x45 // 'E'

export class CopyDataFramer {
  /**
   * Set once the COPY ended: the bytes after CopyDone (CommandComplete, ReadyForQuery…), or the ErrorResponse and
   * what follows it — what pg must read next. Chunks pushed after that are not looked at.
   */
  rest: Buffer[] | null = null
  /** An incomplete message carried over from the previous chunk (from its type byte on), in pieces. */
  private carry: Buffer[] = []
  private carried = 0
  /** The carried message's whole length, type byte included; -1 while its header is incomplete. */
  private carriedTotal = -1
  private chunkRows: Int32Array<ArrayBuffer> = new Int32Array(2 * 1024)
  /** For a row that came in pieces (set in the constructor: a generator method cannot follow a field initializer). */
  private readonly oneRow: Int32Array

  constructor() {
    this.oneRow = new Int32Array(2)
  }

  /**
   * The rows of the next chunk: first the message carried into it, if it completes here, then its whole messages.
   * Each yielded value is valid until the next is asked for.
   */
  *push(chunk: Buffer): Generator<CopyRows> {
    if (this.rest !== null) return
    let pos = 0
    if (this.carried > 0) {
      pos = this.extendCarry(chunk)
      if (this.carriedTotal < 0 || this.carried < this.carriedTotal) return
      const message = Buffer.concat(this.carry, this.carried)
      this.carry = []
      this.carried = 0
      this.carriedTotal = -1
      if (message[0] === COPY_DATA) {
        this.oneRow[0] = HEADER
        this.oneRow[1] = message.length - 1
        yield { bytes: message, rows: this.oneRow, count: 1 }
      } else if (this.ends(message, 0, chunk.subarray(pos))) {
        return
      }
    }
    let count = 0
    while (pos + HEADER <= chunk.length) {
      const total = messageLength(chunk, pos)
      if (pos + total > chunk.length) break
      if (chunk[pos] === COPY_DATA) {
        if (2 * count + 2 > this.chunkRows.length) this.chunkRows = grow(this.chunkRows)
        this.chunkRows[2 * count] = pos + HEADER
        this.chunkRows[2 * count + 1] = pos + total - 1
        count++
      } else if (this.ends(chunk, pos, null)) {
        break
      }
      pos += total
    }
    if (count > 0) yield { bytes: chunk, rows: this.chunkRows, count }
    if (this.rest === null && pos < chunk.length) {
      this.carry = [chunk.subarray(pos)]
      this.carried = chunk.length - pos
      this.carriedTotal = this.carried >= HEADER ? messageLength(chunk, pos) : -1
    }
  }

  /** Adds to the carried message what of it `chunk` holds; returns where the rest of `chunk` starts. */
  private extendCarry(chunk: Buffer): number {
    let pos = 0
    if (this.carriedTotal < 0) {
      pos = Math.min(HEADER - this.carried, chunk.length)
      const head = Buffer.concat([...this.carry, chunk.subarray(0, pos)])
      this.carry = [head]
      this.carried = head.length
      if (this.carried < HEADER) return pos
      this.carriedTotal = messageLength(head, 0)
    }
    const take = Math.min(this.carriedTotal - this.carried, chunk.length - pos)
    this.carry.push(chunk.subarray(pos, pos + take))
    this.carried += take
    return pos + take
  }

  /**
   * For the message at `at` of `bytes` that is not CopyData: whether it ends the COPY, and if so sets `rest` (`after`:
   * what follows a carried message). Other messages (notices, parameter changes, the CopyOutResponse) are passed
   * over, as pg-copy-streams does.
   */
  private ends(bytes: Buffer, at: number, after: Buffer | null): boolean {
    const type = bytes[at]
    if (type !== COPY_DONE && type !== ERROR_RESPONSE) return false
    // pg parses the error itself; after CopyDone it reads CommandComplete and ReadyForQuery.
    const rest = type === ERROR_RESPONSE ? bytes.subarray(at) : bytes.subarray(at + messageLength(bytes, at))
    this.rest = after === null ? [rest] : [rest, after]
    return true
  }
}

/** The length of the message at `at`, its type byte included (the length field counts itself, not the type). */
function messageLength(bytes: Buffer, at: number): number {
  return 1 + ((bytes[at + 1] << 24) >>> 0) + (bytes[at + 2] << 16) + (bytes[at + 3] << 8) + bytes[at + 4]
}

function grow(rows: Int32Array): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(rows.length * 2)
  grown.set(rows)
  return grown
}
