/**
 * Runs Sluice as a real child process (`node --import tsx src/cli/run.ts start`) on a fixed data directory, so a
 * test can `kill -9` it or stop it with SIGTERM and start it again on the same metadata, offsets and topic log.
 */
import { join } from 'node:path'
import { type ApiClient, connectApi } from './api-client.js'
import { type Child, spawnTs } from './child.js'

const CLI = join(import.meta.dirname, '../../src/cli/run.ts')
const ADMIN = { clientId: 'process-admin', secret: 'process-admin-secret' }

export interface SluiceProcess {
  url: string
  api: ApiClient
  child: Child
  /** SIGKILL: no shutdown code runs. Resolves when the process is gone. */
  crash(): Promise<void>
  /** SIGTERM: a clean shutdown. Resolves with the exit code. */
  stop(): Promise<number | null>
}

export async function startSluiceProcess(dataDir: string): Promise<SluiceProcess> {
  const child = spawnTs(CLI, ['start', '--port', '0', '--data-dir', dataDir], {
    SLUICE_ADMIN_CLIENT_ID: ADMIN.clientId,
    SLUICE_ADMIN_SECRET: ADMIN.secret,
    SLUICE_SECRET_KEY: 'process-test-key',
    SLUICE_LOG_LEVEL: process.env.SLUICE_TEST_LOG ?? 'warn',
  })
  const [, url] = await child.waitFor(/listening on (http:\/\/\S+)/, 90_000)
  const api = await connectApi(url, ADMIN.clientId, ADMIN.secret)
  return {
    url,
    api,
    child,
    async crash() {
      if (child.process.exitCode !== null || child.process.signalCode !== null) return
      child.kill('SIGKILL')
      await child.exited()
    },
    async stop() {
      if (child.process.exitCode !== null || child.process.signalCode !== null) return child.process.exitCode
      child.kill('SIGTERM')
      return child.exited()
    },
  }
}
