import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { spawnTs } from '../harness/child.js'

const CLI = join(import.meta.dirname, '../../src/cli/run.ts')

describe('sluice start', () => {
  let dataDir: string
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-cli-'))
  })
  afterEach(async () => rm(dataDir, { recursive: true, force: true }))

  async function token(url: string, clientId: string, secret: string): Promise<number> {
    const res = await fetch(`${url}/auth/access-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: clientId, secret }) })
    return res.status
  }

  it('prints a generated admin credential once, and only on the first start', async () => {
    const env = { SLUICE_LOG_LEVEL: 'silent', SLUICE_ADMIN_CLIENT_ID: '', SLUICE_ADMIN_SECRET: '' }
    const first = spawnTs(CLI, ['start', '--port', '0', '--data-dir', dataDir], env)
    const [, clientId, secret] = await first.waitFor(/client_id: (\S+)\n\s+secret:\s+(\S+)/)
    const [, url] = await first.waitFor(/listening on (http:\/\/\S+)/)
    expect(await token(url, clientId, secret)).toBe(200)
    expect((await stat(join(dataDir, 'secret.key'))).mode & 0o777).toBe(0o600)
    first.kill('SIGTERM')
    expect(await first.exited()).toBe(0)

    const second = spawnTs(CLI, ['start', '--port', '0', '--data-dir', dataDir], env)
    const [, url2] = await second.waitFor(/listening on (http:\/\/\S+)/)
    expect(second.output()).not.toContain('client_id')
    expect(await token(url2, clientId, secret)).toBe(200)
    second.kill('SIGTERM')
    await second.exited()
  })

  it('ensures the credential given in SLUICE_ADMIN_CLIENT_ID / SLUICE_ADMIN_SECRET', async () => {
    const child = spawnTs(CLI, ['start', '--data-dir', dataDir], { SLUICE_PORT: '0', SLUICE_LOG_LEVEL: 'silent', SLUICE_ADMIN_CLIENT_ID: 'ops', SLUICE_ADMIN_SECRET: 'ops-secret-123' })
    const [, url] = await child.waitFor(/listening on (http:\/\/\S+)/)
    expect(child.output()).not.toContain('client_id')
    expect(await token(url, 'ops', 'ops-secret-123')).toBe(200)
    child.kill('SIGTERM')
    await child.exited()
  })

  it('refuses invalid configuration with a clear message and exit code 2', async () => {
    const child = spawnTs(CLI, ['start', '--port', 'eighty', '--data-dir', dataDir], { SLUICE_METADATA_URL: 'mysql://x' })
    expect(await child.exited()).toBe(2)
    expect(child.output()).toContain('SLUICE_PORT')
    expect(child.output()).toContain('SLUICE_METADATA_URL: must be a postgres:// URL')
  })
})
