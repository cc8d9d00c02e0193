/**
 * Runs a TypeScript entry point as a child process (through tsx), collecting its output and letting a test wait for
 * a line that matches — never for a fixed time.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createRequire } from 'node:module'

const TSX_LOADER = createRequire(import.meta.url).resolve('tsx')

export interface Child {
  process: ChildProcess
  output(): string
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
  exited(): Promise<number | null>
  kill(signal?: NodeJS.Signals): void
}

export function spawnTs(entry: string, args: string[], env: Record<string, string | undefined> = {}): Child {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, entry, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  const waiters = new Set<() => void>()
  const onData = (chunk: Buffer) => {
    out += chunk.toString()
    for (const w of waiters) w()
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    for (const w of waiters) w()
    resolve(code)
  }))
  return {
    process: child,
    output: () => out,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(pattern)
          if (m) {
            cleanup()
            resolve(m)
          } else if (child.exitCode !== null || child.signalCode !== null) {
            cleanup()
            reject(new Error(`child exited before printing ${pattern}; output:\n${out}`))
          }
        }
        const timer = setTimeout(() => {
          cleanup()
          reject(new Error(`timed out waiting for ${pattern}; output:\n${out}`))
        }, timeoutMs)
        const cleanup = () => {
          clearTimeout(timer)
          waiters.delete(check)
        }
        waiters.add(check)
        check()
      })
    },
    exited: () => exit,
    kill: (signal = 'SIGTERM') => void child.kill(signal),
  }
}
