/**
 * The set-up most source tests share: a real PostgreSQL (seeded by the suite), an in-process Sluice, and an Admin API
 * client, started before the suite's tests and torn down after them.
 */
import { afterAll, beforeAll } from 'vitest'
import { adminClient, type ApiClient } from './api-client.js'
import { type TestPostgres, startPostgres } from './postgres.js'
import { type TestSluice, startTestSluice } from './sluice.js'

export interface SourceEnvironment {
  readonly pg: TestPostgres
  readonly t: TestSluice
  readonly api: ApiClient
}

export function useSourceEnvironment(seed: (pg: TestPostgres) => Promise<void> = async () => {}): SourceEnvironment {
  let pg: TestPostgres | undefined
  let t: TestSluice | undefined
  let api: ApiClient | undefined
  beforeAll(async () => {
    pg = await startPostgres()
    await seed(pg)
    t = await startTestSluice()
    api = adminClient(t)
  })
  afterAll(async () => {
    await t?.stop()
    await pg?.destroy()
  })
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the source environment is used before beforeAll ran')
    return value
  }
  return {
    get pg() {
      return started(pg)
    },
    get t() {
      return started(t)
    },
    get api() {
      return started(api)
    },
  }
}

/** The newest snapshot run of a source, as `GET /sources/{id}/snapshots` shows it. */
export async function latestRun(api: ApiClient, sourceId: string): Promise<any> {
  return (await api.request('GET', `/sources/${sourceId}/snapshots`)).body.result[0]
}
