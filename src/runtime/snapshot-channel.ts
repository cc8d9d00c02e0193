/** A source task's handle on its snapshot runs: the metadata store plus in-process wake-ups. */
import type { SnapshotChannel, SnapshotRun } from '../connectors/snapshot-run.js'
import type { SnapshotNotifier } from '../core/snapshots/snapshot-notifier.js'
import { toSnapshotRun } from '../core/snapshots/snapshot-service.js'
import type { SnapshotRepository } from '../store/snapshot-repository.js'
import { newId } from '../util/ids.js'

export function createSnapshotChannel(sourceId: string, repo: SnapshotRepository, notifier: SnapshotNotifier): SnapshotChannel {
  return {
    async active() {
      return (await repo.forSource(sourceId, ['pending', 'running'])).map(toSnapshotRun)
    },
    async get(id) {
      const stored = await repo.get(id)
      return stored ? toSnapshotRun(stored) : null
    },
    async save(run) {
      return toSnapshotRun(await repo.saveProgress(run))
    },
    async create(input) {
      const run: SnapshotRun = { ...input, id: newId(), createdAt: new Date().toISOString() }
      await repo.insert(run)
      return run
    },
    changed: (signal) => notifier.next(sourceId, signal),
  }
}
