/**
 * Where format 3 rows keep their payloads (stored-batch.ts): append-only files in `<log dir>/segments/`, named by a
 * number that grows, which the `batches` table points into (segment, position, length). Only the log's thread uses
 * them.
 *
 * Why files and not a SQLite column: SQLite writes every byte twice, into the WAL and at the next checkpoint into
 * the database file, and a checkpoint of 64 MiB stalled the append it ran in. A segment's bytes are written once.
 * Measured on the snapshot bench (1M rows): the log thread's CPU 0.75 → 0.59 s a run, iowait 0.32 → 0.21 s, and
 * 378k → 408k rows/s. Only big payloads come here (batch-store.ts SEGMENT_MIN_BYTES): a file's fsync is one more per
 * append, which only a big append spreads thin.
 *
 * Crash safety: `sync()` makes every payload written so far durable (fdatasync of the files written since the last
 * one, and an fsync of the directory after a file was created, so its name survives too), and the appender calls it
 * before the transaction that stores the rows pointing at them commits. So a committed row's payload is on disk. A
 * crash can leave bytes no row points at (written, never committed): nothing reads them, and a file nothing points
 * at is deleted by the retention pass. Each open starts a new file rather than appending after a tail a crash may
 * have torn.
 */
import { closeSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, readdirSync, readSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'

/** A file is closed to writes past this size, so retention can delete old payloads file by file. */
const SEGMENT_BYTES = 64 * 1024 * 1024
/** Files kept open for reading (the active one apart). */
const MAX_READ_FILES = 16
const NAME = /^(\d{16})\.seg$/

/** Where a payload is. */
export interface SegmentRange {
  segment: number
  position: number
}

export class SegmentFiles {
  /** The file being written (its number; created at its first write), its descriptor and size. */
  private active: number
  private activeFd = -1
  private activeBytes = 0
  /** Files written (or created) since the last sync, by descriptor. */
  private unsynced = new Set<number>()
  private directoryChanged = false
  /** Files of earlier segments open for reading, least recently used first. */
  private readers = new Map<number, number>()

  /** `durable`: false for a log with fsync 'never', whose `sync()` then syncs nothing. */
  constructor(private readonly dir: string, private readonly durable: boolean, private readonly segmentBytes = SEGMENT_BYTES) {
    mkdirSync(dir, { recursive: true })
    this.active = Math.max(0, ...this.list()) + 1
  }

  /** Appends `payload` to the active file (a new one once it is full); durable only after `sync()`. */
  write(payload: Uint8Array): SegmentRange {
    if (this.activeFd >= 0 && this.activeBytes > 0 && this.activeBytes + payload.length > this.segmentBytes) this.roll()
    if (this.activeFd < 0) {
      // Read and write: reads of the file being written use this descriptor too.
      this.activeFd = openSync(this.path(this.active), 'wx+')
      this.activeBytes = 0
      this.directoryChanged = true
    }
    const range = { segment: this.active, position: this.activeBytes }
    let written = 0
    while (written < payload.length) {
      written += writeSync(this.activeFd, payload, written, payload.length - written, this.activeBytes + written)
    }
    this.activeBytes += written
    this.unsynced.add(this.activeFd)
    return range
  }

  /** Makes everything written so far durable. */
  sync(): void {
    if (this.durable) {
      for (const fd of this.unsynced) fdatasyncSync(fd)
      if (this.directoryChanged) {
        const dirFd = openSync(this.dir, 'r')
        try {
          fsyncSync(dirFd)
        } finally {
          closeSync(dirFd)
        }
      }
    }
    // A rolled file is synced above before its descriptor is let go.
    for (const fd of this.unsynced) if (fd !== this.activeFd) closeSync(fd)
    this.unsynced.clear()
    this.directoryChanged = false
  }

  /** `length` bytes at `range`. */
  read(range: SegmentRange, length: number): Buffer {
    const fd = this.readFd(range.segment)
    const bytes = Buffer.allocUnsafe(length)
    let read = 0
    while (read < length) {
      const n = readSync(fd, bytes, read, length - read, range.position + read)
      if (n === 0) throw new Error(`topic log segment ${range.segment} ends before ${range.position + length}`)
      read += n
    }
    return bytes
  }

  /** Deletes the files no row points at (`isReferenced` says), except the one being written; returns how many. */
  removeUnreferenced(isReferenced: (segment: number) => boolean): number {
    let removed = 0
    for (const segment of this.list()) {
      if (segment === this.active || isReferenced(segment)) continue
      const fd = this.readers.get(segment)
      if (fd !== undefined) {
        closeSync(fd)
        this.readers.delete(segment)
      }
      unlinkSync(this.path(segment))
      removed++
    }
    return removed
  }

  close(): void {
    if (this.activeFd >= 0 && !this.unsynced.has(this.activeFd)) closeSync(this.activeFd)
    for (const fd of this.unsynced) closeSync(fd)
    for (const fd of this.readers.values()) closeSync(fd)
    this.unsynced.clear()
    this.readers.clear()
    this.activeFd = -1
  }

  /** The numbers of the files in the directory. */
  list(): number[] {
    return readdirSync(this.dir).flatMap((name) => {
      const match = NAME.exec(name)
      return match ? [Number(match[1])] : []
    })
  }

  /** Ends the active file; its descriptor stays in `unsynced` until the next sync. */
  private roll(): void {
    if (!this.unsynced.has(this.activeFd)) closeSync(this.activeFd)
    this.activeFd = -1
    this.active++
  }

  private readFd(segment: number): number {
    if (segment === this.active && this.activeFd >= 0) return this.activeFd
    let fd = this.readers.get(segment)
    if (fd !== undefined) {
      this.readers.delete(segment)
    } else {
      fd = openSync(this.path(segment), 'r')
      if (this.readers.size >= MAX_READ_FILES) {
        const [oldest, oldestFd] = this.readers.entries().next().value as [number, number]
        closeSync(oldestFd)
        this.readers.delete(oldest)
      }
    }
    this.readers.set(segment, fd)
    return fd
  }

  private path(segment: number): string {
    return join(this.dir, `${String(segment).padStart(16, '0')}.seg`)
  }
}
