/**
 * The in-process server's log, kept in memory at debug level, so that a failing test shows what the server was doing
 * meanwhile: a hang on a loaded CI machine is otherwise a bare "Test timed out", with nothing to go on. Every test
 * file that starts a test Sluice prints, when one of its tests fails, the lines logged during that test.
 *
 * SLUICE_TEST_LOG=<level> sends the log to stderr as it happens instead (and nothing is kept).
 */
import pino, { type Logger } from 'pino'
import { beforeEach } from 'vitest'

/** Lines kept per server: enough for a test's worth of lifecycle and request lines. */
const KEPT_LINES = 5000
/** Lines printed for a failed test: its last ones, which CI's shortened output still shows. */
const PRINTED_LINES = 80
/** A successful GET: the polling of tests waiting on state, which would drown everything else. */
const POLL = /"method":"GET".*"status":[23]\d\d,/

class ServerLog {
  private readonly lines: Array<{ at: number; line: string }> = []

  write(line: string): void {
    if (POLL.test(line)) return
    this.lines.push({ at: Date.now(), line: line.trimEnd() })
    if (this.lines.length > KEPT_LINES) this.lines.splice(0, this.lines.length - KEPT_LINES)
  }

  since(at: number): string[] {
    return this.lines.filter((l) => l.at >= at).map((l) => l.line)
  }
}

const open = new Set<ServerLog>()

/** A logger for a test Sluice; `close` forgets its lines when the server stops. */
export function testServerLogger(): { logger: Logger; close(): void } {
  const level = process.env.SLUICE_TEST_LOG
  if (level) return { logger: pino({ level }, pino.destination(2)), close: () => undefined }
  const log = new ServerLog()
  open.add(log)
  return { logger: pino({ level: 'debug' }, log), close: () => void open.delete(log) }
}

// Registered by importing this module, on the importing test file.
beforeEach(({ onTestFailed, task }) => {
  const startedAt = Date.now()
  onTestFailed(() => {
    for (const log of open) {
      const lines = log.since(startedAt)
      const shown = lines.slice(-PRINTED_LINES)
      console.error(`--- server log during "${task.name}" (${shown.length} of ${lines.length} lines) ---\n${shown.join('\n')}\n--- end of server log ---`)
    }
  })
})
