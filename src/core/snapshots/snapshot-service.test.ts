import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type MetadataDb, openMetadataDb } from '../../store/db.js'
import { createSnapshotRepository, type SnapshotRepository, type StoredSnapshot } from '../../store/snapshot-repository.js'
import type { SourceService } from '../sources/source-service.js'
import { SnapshotNotifier } from './snapshot-notifier.js'
import { createSnapshotService } from './snapshot-service.js'

const table = (topic: string) => ({ topic, schema: 'public', table: topic, status: 'running', rowsRead: 0, rowsEstimated: 1000, cursor: null, startedAt: '2026-11-30T00:00:00.000Z', endedAt: null })

const RUN: StoredSnapshot = {
  id: 'run1', sourceId: 'src1', type: 'incremental', status: 'running', paused: false, reason: null,
  tables: [table('a'), table('b')], options: {}, createdAt: '2026-11-30T00:00:00.000Z', startedAt: '2026-11-30T00:00:00.000Z', endedAt: null,
}

describe('snapshot service: users\' changes and the connector\'s progress', () => {
  let dir: string
  let metadata: MetadataDb
  let repo: SnapshotRepository

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-snapshots-'))
    metadata = await openMetadataDb({ dataDir: dir })
    repo = createSnapshotRepository(metadata.db)
    await repo.insert(RUN)
  })
  afterEach(async () => {
    await metadata.close()
    await rm(dir, { recursive: true, force: true })
  })

  /** A service whose every read of the active run is followed at once by the connector saving `progress`: the race. */
  function racingService(progress: (stored: StoredSnapshot) => StoredSnapshot) {
    const racing: SnapshotRepository = {
      ...repo,
      async forSource(sourceId, statuses) {
        const runs = await repo.forSource(sourceId, statuses)
        await repo.saveProgress(progress((await repo.get(RUN.id)) as StoredSnapshot))
        return runs
      },
    }
    const sources = { get: async (id: string) => ({ id }) } as unknown as SourceService
    return createSnapshotService({ repo: racing, sources, runtime: () => { throw new Error('not used') }, notifier: new SnapshotNotifier() })
  }

  const chunkRead = (stored: StoredSnapshot): StoredSnapshot => ({ ...stored, tables: stored.tables.map((t) => ({ ...t, rowsRead: t.rowsRead + 500, cursor: { chunk: 1 } })) })

  it('keeps the rows read that the connector saved after the run was read, when tables are cancelled', async () => {
    const cancelled = await racingService(chunkRead).stopIncremental('src1', ['a'])
    expect(cancelled.tables.map((t) => [t.topic, t.status, t.rowsRead, t.cursor])).toEqual([['a', 'cancelled', 500, { chunk: 1 }], ['b', 'running', 500, { chunk: 1 }]])
    expect((await repo.get(RUN.id))?.tables.map((t) => t.rowsRead)).toEqual([500, 500])
  })

  it('keeps them when the run is paused, too', async () => {
    const paused = await racingService(chunkRead).setPaused('src1', true)
    expect(paused.paused).toBe(true)
    expect((await repo.get(RUN.id))?.tables.map((t) => t.rowsRead)).toEqual([500, 500])
  })

  it('leaves a run that ended meanwhile as it ended', async () => {
    const completed = (stored: StoredSnapshot): StoredSnapshot => ({ ...stored, status: 'completed', endedAt: '2026-11-30T00:01:00.000Z' })
    const result = await racingService(completed).stopIncremental('src1', null)
    expect(result.status).toBe('completed')
    expect((await repo.get(RUN.id))?.status).toBe('completed')
  })
})
