import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiClient, adminClient } from '../../harness/api-client.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type TestSluice, startTestSluice } from '../../harness/sluice.js'
import { createSource, pgSourceConfig, topicOf, waitForStatus } from '../../harness/sources.js'
import { changeEvents, readTopic } from '../../harness/topic-reader.js'
import { waitFor } from '../../harness/wait-for.js'
import { createDestination, createPipeline, pgDestinationConfig } from './delivery-helpers.js'

describe('unchanged TOASTed columns', () => {
  let pg: TestPostgres
  let t: TestSluice
  let api: ApiClient

  beforeAll(async () => {
    pg = await startPostgres()
    await pg.createDatabase('target')
    await pg.query('CREATE TABLE docs (id int PRIMARY KEY, body text, n int)')
    t = await startTestSluice()
    api = adminClient(t)
  })
  afterAll(async () => {
    await t?.stop()
    await pg?.destroy()
  })

  const snapshotOf = async (database?: string) =>
    (await pg.query('SELECT id::int, md5(body) AS body, n::int FROM public.docs ORDER BY id', [], database)).rows

  it('keeps the destination value when an update does not carry the TOASTed column', async () => {
    const sourceId = await createSource(api, pgSourceConfig(pg))
    await waitForStatus(api, sourceId, 'Active')
    await createPipeline(api, sourceId, await createDestination(api, pgDestinationConfig(pg, 'target')))
    // Incompressible and large: stored out of line, so pgoutput sends it as "unchanged" on updates of other columns.
    await pg.query("INSERT INTO docs SELECT g, (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 400)), 1 FROM generate_series(1, 3) g")
    await pg.query('UPDATE docs SET n = 2 WHERE id IN (1, 2)')
    const events = await waitFor(
      async () => changeEvents(await readTopic(api, topicOf(sourceId, 'docs'))).filter((e) => e.op === 'u'),
      (u) => u.length === 2,
      { timeoutMs: 60_000, message: 'two updates streamed' },
    )
    expect(events[0].after.body).toBe('__debezium_unavailable_value')
    const expected = await snapshotOf()
    await waitFor(async () => JSON.stringify(await snapshotOf('target').catch(() => [])), (s) => s === JSON.stringify(expected), {
      timeoutMs: 60_000,
      message: 'target equals source',
    })
  })
})
