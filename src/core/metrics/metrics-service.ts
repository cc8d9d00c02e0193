/**
 * The figures `GET /metrics` exposes, as samples (name, labels, value) with their help text and type; the API
 * renders them in Prometheus' text format. Topic figures come from the log's in-memory partition counters, consumer
 * group figures from committed offsets and the live coordination state, source figures from the runtime.
 */
import type { TopicLog } from '../../log/topic-log.js'

export interface Sample {
  labels: Record<string, string>
  value: number
}

export interface MetricFamily {
  name: string
  help: string
  type: 'gauge' | 'counter'
  samples: Sample[]
}

export interface SourceFigures {
  sourceId: string
  name: string
  recordsSent: number
  bytesSent: number
  millisBehindSource: number | null
  streamingConnected: boolean
}

export interface MetricsDeps {
  log: TopicLog
  liveGroups: () => Array<{ groupId: string; members: number; inFlightRecords: number }>
  sources?: () => Promise<SourceFigures[]>
}

export function createMetricsService(deps: MetricsDeps) {
  return {
    async collect(): Promise<MetricFamily[]> {
      const family = (name: string, help: string, type: MetricFamily['type'] = 'gauge'): MetricFamily => ({ name, help, type, samples: [] })
      const latest = family('sluice_topic_partition_latest_offset', 'The offset the next record appended to the partition will get.')
      const earliest = family('sluice_topic_partition_earliest_offset', 'The offset of the first record still stored.')
      const records = family('sluice_topic_partition_records', 'Records stored in the partition.')
      const bytes = family('sluice_topic_partition_bytes', 'Bytes stored in the partition.')
      const endOffsets = new Map<string, number>()
      for (const topic of await deps.log.listTopics()) {
        for (let p = 0; p < topic.partitions; p++) {
          const labels = { topic: topic.name, partition: String(p) }
          const offsets = await deps.log.offsets(topic.name, p)
          const stats = await deps.log.stats(topic.name, p)
          endOffsets.set(`${p}:${topic.name}`, offsets.latest)
          latest.samples.push({ labels, value: offsets.latest })
          earliest.samples.push({ labels, value: offsets.earliest })
          records.samples.push({ labels, value: stats.records })
          bytes.samples.push({ labels, value: stats.bytes })
        }
      }
      const committed = family('sluice_consumer_group_committed_offset', 'The next offset the group will read.')
      const lag = family('sluice_consumer_group_lag', 'Records appended but not yet committed by the group.')
      for (const group of await deps.log.listGroups()) {
        for (const o of await deps.log.committedOffsets(group)) {
          const end = endOffsets.get(`${o.partition}:${o.topic}`)
          if (end === undefined) continue
          const labels = { group, topic: o.topic, partition: String(o.partition) }
          committed.samples.push({ labels, value: o.offset })
          lag.samples.push({ labels, value: Math.max(0, end - o.offset) })
        }
      }
      const members = family('sluice_consumer_group_members', 'Active HTTP consumer members of the group.')
      const inFlight = family('sluice_consumer_group_in_flight_records', 'Records fetched by members and not committed yet.')
      for (const g of deps.liveGroups()) {
        members.samples.push({ labels: { group: g.groupId }, value: g.members })
        inFlight.samples.push({ labels: { group: g.groupId }, value: g.inFlightRecords })
      }
      const families = [latest, earliest, records, bytes, committed, lag, members, inFlight]
      if (deps.sources) families.push(...sourceFamilies(await deps.sources()))
      return families
    },
  }
}

function sourceFamilies(sources: SourceFigures[]): MetricFamily[] {
  const family = (name: string, help: string, type: MetricFamily['type']): MetricFamily => ({ name, help, type, samples: [] })
  const sent = family('sluice_source_records_sent_total', 'Change events the source wrote to its topics.', 'counter')
  const sentBytes = family('sluice_source_bytes_sent_total', 'Bytes of change events the source wrote.', 'counter')
  const behind = family('sluice_source_millis_behind_source', 'Processing time minus commit time of the last change.', 'gauge')
  const connected = family('sluice_source_streaming_connected', '1 while the source streams from its replication slot.', 'gauge')
  for (const s of sources) {
    const labels = { source_id: s.sourceId, source_name: s.name }
    sent.samples.push({ labels, value: s.recordsSent })
    sentBytes.samples.push({ labels, value: s.bytesSent })
    if (s.millisBehindSource !== null) behind.samples.push({ labels, value: s.millisBehindSource })
    connected.samples.push({ labels, value: s.streamingConnected ? 1 : 0 })
  }
  return [sent, sentBytes, behind, connected]
}

export type MetricsService = ReturnType<typeof createMetricsService>
