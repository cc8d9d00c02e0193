/**
 * The logical replication messages of the `pgoutput` plugin, as a tagged union.
 * Wire layout: https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
 *
 * Times are microseconds since 2000-01-01 UTC (PostgreSQL's epoch), kept as bigint: converting to a JS Date would
 * lose the microseconds that Debezium's `ts_us` carries.
 */
import type { Lsn } from '../replication/lsn.js'

/** One column value of a tuple: SQL NULL, an unchanged TOASTed value that was not sent, or its text/binary form. */
export type TupleValue =
  | { kind: 'null' }
  | { kind: 'unchanged-toast' }
  | { kind: 'text'; value: string }
  | { kind: 'binary'; value: Buffer }

export type TupleData = TupleValue[]

export interface RelationColumn {
  /** True when the column is part of the replica identity key (flag bit 1). */
  isKey: boolean
  name: string
  typeOid: number
  /** atttypmod: -1 when not applicable; for numeric `((precision << 16) | scale) + 4`. */
  typeMod: number
}

export type ReplicaIdentity = 'default' | 'nothing' | 'full' | 'index'

export type PgOutputMessage =
  | { tag: 'begin'; finalLsn: Lsn; commitTime: bigint; xid: number }
  | { tag: 'commit'; flags: number; commitLsn: Lsn; endLsn: Lsn; commitTime: bigint }
  | { tag: 'origin'; originLsn: Lsn; name: string }
  | {
      tag: 'relation'
      /** Streaming (protocol v2) only: the transaction this message belongs to. */
      xid?: number
      relationId: number
      schema: string
      name: string
      replicaIdentity: ReplicaIdentity
      columns: RelationColumn[]
    }
  | { tag: 'type'; xid?: number; typeOid: number; schema: string; name: string }
  | { tag: 'insert'; xid?: number; relationId: number; newTuple: TupleData }
  | {
      tag: 'update'
      xid?: number
      relationId: number
      /** Present when the key changed (replica identity DEFAULT/INDEX): the old key columns only. */
      keyTuple?: TupleData
      /** Present with REPLICA IDENTITY FULL: the whole old row. */
      oldTuple?: TupleData
      newTuple: TupleData
    }
  | { tag: 'delete'; xid?: number; relationId: number; keyTuple?: TupleData; oldTuple?: TupleData }
  | { tag: 'truncate'; xid?: number; relationIds: number[]; cascade: boolean; restartIdentity: boolean }
  | { tag: 'message'; xid?: number; transactional: boolean; lsn: Lsn; prefix: string; content: Buffer }
  | { tag: 'stream-start'; xid: number; firstSegment: boolean }
  | { tag: 'stream-stop' }
  | { tag: 'stream-commit'; xid: number; flags: number; commitLsn: Lsn; endLsn: Lsn; commitTime: bigint }
  | { tag: 'stream-abort'; xid: number; subXid: number }

export type PgOutputTag = PgOutputMessage['tag']
