/** The pipeline entity: a source's topics (all, or a chosen list) delivered to a destination. */

export interface Pipeline {
  id: string
  name: string
  sourceId: string
  destinationId: string
  /** Chosen topics; null = every topic of the source, including tables it captures later. */
  topics: string[] | null
  snapshotNewTables: boolean
  transforms: unknown[]
  tags: string[]
  createdFrom: string
  createdAt: string
  updatedAt: string
}

/** Each pipeline reads through a consumer group of its own. */
export function pipelineGroup(pipelineId: string): string {
  return `pipeline_${pipelineId}`
}
