import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { spawnTs } from '../harness/child.js'

const CLI = join(import.meta.dirname, '../../src/cli/run.ts')

/**
 * `sluice demo`, the README's first command, run as users run it (a small sample so it fits in a test): an embedded
 * PostgreSQL, Sluice, a source, a destination and a pipeline, a workload, the warehouse check; then Ctrl-C.
 */
describe('sluice demo', () => {
  let tmp: string
  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'sluice-demo-test-'))
    // As root, PostgreSQL runs as the postgres OS user, which must be able to reach the demo's directory inside.
    await chmod(tmp, 0o755)
  })
  afterEach(async () => rm(tmp, { recursive: true, force: true, maxRetries: 5 }))

  it('shows the warehouse matching the shop, serves the API it prints, and removes everything on Ctrl-C', async () => {
    // Its temporary directory (PostgreSQL's data, Sluice's data) goes under TMPDIR, so the test can see it go.
    const demo = spawnTs(CLI, ['demo', '--port', '0', '--scale', '0.02'], { TMPDIR: tmp, SLUICE_LOG_LEVEL: 'silent' })
    try {
      await demo.waitFor(/Press Ctrl-C to stop/, 240_000)
      const output = demo.output()
      expect(output).toContain('warehouse matches the source row for row')
      expect(output).toMatch(/creates [1-9]\d*\s+updates [1-9]\d*\s+deletes \d+/)
      // On a small sample the blocking snapshot may end before the demo sees it running; either way the step ran.
      expect(output).toMatch(/stop_blocking_snapshot answered 200 in \d+ ms: snapshot cancelled, connector Active|ended \(completed\) before it could be stopped|ended before the stop reached it/)
      expect((await readdir(tmp)).some((name) => name.startsWith('sluice-demo-'))).toBe(true)

      const url = /API docs:\s+(http:\/\/\S+)\/docs/.exec(output)?.[1]
      const [, clientId, secret] = /client_id (\S+), secret (\S+)/.exec(output) ?? []
      expect(url).toBeDefined()
      const auth = await fetch(`${url}/auth/access-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: clientId, secret }) })
      expect(auth.status).toBe(200)
      const { accessToken } = (await auth.json()) as { accessToken: string }
      const sources = await fetch(`${url}/sources`, { headers: { authorization: `Bearer ${accessToken}` } })
      expect(((await sources.json()) as { result: Array<{ name: string }> }).result.map((s) => s.name)).toEqual(['shop'])

      demo.kill('SIGINT')
      expect(await demo.exited()).toBe(0)
      expect(demo.output()).toContain('Cleaning up')
      expect((await readdir(tmp)).filter((name) => name.startsWith('sluice-demo-'))).toEqual([])
      await expect(fetch(`${url}/health`)).rejects.toThrow()
    } finally {
      // After a failed check: Ctrl-C first, so the demo stops its PostgreSQL rather than orphaning it.
      if (demo.process.exitCode === null && demo.process.signalCode === null) {
        demo.kill('SIGINT')
        const timer = setTimeout(() => demo.kill('SIGKILL'), 60_000)
        await demo.exited()
        clearTimeout(timer)
      }
    }
  }, 300_000)
})
