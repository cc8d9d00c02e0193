/**
 * Failures of a connector, classified where they are caught (Debezium's `PostgresErrorHandler` habit): the
 * supervisor retries `retriable` ones with backoff and reports the others as `Broken` with `message` as the reason.
 */
export class ConnectorError extends Error {
  readonly retriable: boolean
  /** A stable, machine-readable kind, e.g. `wal_level`, `privilege`, `missing_table`, `connection`. */
  readonly kind: string

  constructor(kind: string, message: string, options: { retriable: boolean; cause?: unknown }) {
    super(message, { cause: options.cause })
    this.name = 'ConnectorError'
    this.kind = kind
    this.retriable = options.retriable
  }
}
