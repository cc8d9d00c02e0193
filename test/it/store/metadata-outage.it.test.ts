/**
 * The metadata store on PostgreSQL when its server stops answering (processes frozen with SIGSTOP: connections stay
 * open and nothing replies, as when a host hangs or a network drops packets without resetting connections). A query
 * must fail within the store's timeout with a reason, rather than hang the API call or offset commit waiting on it,
 * and once the server answers again the store must work without a restart.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type MetadataDb, openMetadataDb } from '../../../src/store/db.js'
import { startPostgres, type TestPostgres } from '../../harness/postgres.js'

describe('metadata store on a PostgreSQL server that stops answering', () => {
  let pg: TestPostgres
  let metadata: MetadataDb
  let dataDir: string

  beforeAll(async () => {
    pg = await startPostgres()
    await pg.createDatabase('meta')
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-meta-'))
    metadata = await openMetadataDb({ url: pg.url('meta'), dataDir, timeoutMs: 1000 })
  })

  afterAll(async () => {
    await metadata?.close()
    await pg?.destroy()
    await rm(dataDir, { recursive: true, force: true })
  })

  const sourceCount = async () => Number((await metadata.db.selectFrom('sources').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n)

  it('fails a query within the timeout with the reason, and works again once the server answers', async () => {
    expect(await sourceCount()).toBe(0)
    // Several at once: every pooled connection in use must be dropped, and a query waiting for a connection must
    // give up too.
    const outcomes = await pg.whileFrozen(async () => {
      const started = Date.now()
      const settled = await Promise.allSettled(Array.from({ length: 12 }, () => sourceCount()))
      return { settled, ms: Date.now() - started }
    })
    expect(outcomes.ms).toBeLessThan(15_000)
    for (const outcome of outcomes.settled) {
      expect(outcome.status).toBe('rejected')
      expect(String((outcome as PromiseRejectedResult).reason)).toMatch(/did not answer within 1 s|timeout/i)
    }
    // The dropped connections left the pool: new ones are opened, and every query answers again.
    const after = await Promise.all(Array.from({ length: 12 }, () => sourceCount()))
    expect(after).toEqual(Array(12).fill(0))
  })
})
