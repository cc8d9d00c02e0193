/**
 * Consumer-group committed offsets: the next offset each group will read, per topic-partition. A commit is one
 * transaction, so after a crash a group sees either all offsets of a commit or none of them. Deleting a topic
 * deletes its committed offsets in the same transaction (see topic-registry.ts).
 */
import { GroupNotFoundError, InvalidLogRequestError } from '../log-errors.js'
import type { Db } from './schema.js'
import type { TopicRegistry } from './topic-registry.js'

export interface GroupOffset {
  topic: string
  partition: number
  offset: number
}

export class ConsumerGroups {
  private readonly upsert
  private readonly selectGroup
  private readonly selectGroups
  private readonly deleteGroupStmt

  constructor(private readonly db: Db, private readonly registry: TopicRegistry) {
    this.upsert = db.prepare(
      'INSERT INTO group_offsets (group_id, topic, part, off, committed_at) VALUES (?, ?, ?, ?, ?) ' +
        'ON CONFLICT (group_id, topic, part) ' +
        'DO UPDATE SET off = excluded.off, committed_at = excluded.committed_at',
    )
    this.selectGroup = db.prepare(
      'SELECT topic, part AS partition, off AS offset FROM group_offsets WHERE group_id = ? ORDER BY topic, part',
    )
    this.selectGroups = db.prepare('SELECT DISTINCT group_id FROM group_offsets ORDER BY group_id').pluck(true)
    this.deleteGroupStmt = db.prepare('DELETE FROM group_offsets WHERE group_id = ?')
  }

  commit(group: string, offsets: GroupOffset[]): void {
    validateGroup(group)
    for (const [i, o] of offsets.entries()) {
      this.registry.requirePartition(o.topic, o.partition)
      if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
        throw new InvalidLogRequestError(`offsets[${i}].offset`, 'offset must be a non-negative integer')
      }
    }
    const now = Date.now()
    this.db.transaction(() => {
      for (const o of offsets) this.upsert.run(group, o.topic, o.partition, o.offset, now)
    })()
  }

  committed(group: string): GroupOffset[] {
    return this.selectGroup.all(group) as GroupOffset[]
  }

  list(): string[] {
    return this.selectGroups.all() as string[]
  }

  delete(group: string): void {
    if (this.deleteGroupStmt.run(group).changes === 0) throw new GroupNotFoundError(group)
  }
}

function validateGroup(group: string): void {
  if (typeof group !== 'string' || group.length === 0 || group.length > 255) {
    throw new InvalidLogRequestError('group', 'group must be a non-empty string of at most 255 characters')
  }
}
