/**
 * The value Debezium puts in place of an unchanged TOASTed column that pgoutput did not send ('u' in a tuple),
 * shaped for the column's schema: `unavailable.value.placeholder` as a string, as bytes, or as a one-element (or
 * per-byte, for integer arrays) list, the way Debezium's UnchangedToastedPlaceholder builds it.
 */
import { createHash } from 'node:crypto'
import type { ConnectSchema, EventValue } from '../../../events/change-event.js'

export const DEFAULT_UNAVAILABLE_VALUE_PLACEHOLDER = '__debezium_unavailable_value'

/** `placeholder` may be text or, for Debezium's `hex:` form, raw bytes. Returns null for types without one. */
export function unchangedToastPlaceholder(
  schema: ConnectSchema,
  placeholder: string | Buffer = DEFAULT_UNAVAILABLE_VALUE_PLACEHOLDER,
): EventValue {
  const bytes = typeof placeholder === 'string' ? Buffer.from(placeholder, 'utf8') : placeholder
  const text = bytes.toString('utf8')
  switch (schema.type) {
    case 'string':
      return text
    case 'bytes':
      return bytes.toString('base64')
    case 'array': {
      const items = schema.items
      if (!items) return null
      if (items.name === 'io.debezium.data.Uuid') return [nameUuidFromBytes(bytes)]
      if (items.type === 'string') return [text]
      if (items.type === 'bytes') return [bytes.toString('base64')]
      // Integer arrays get the placeholder's bytes as signed numbers.
      if (items.type === 'int16' || items.type === 'int32' || items.type === 'int64') {
        return [...bytes].map((b) => (b << 24) >> 24)
      }
      return null
    }
    default:
      return null
  }
}

/** Java's `UUID.nameUUIDFromBytes`: an MD5-based (version 3) UUID. */
function nameUuidFromBytes(bytes: Buffer): string {
  const md5 = createHash('md5').update(bytes).digest()
  md5[6] = (md5[6] & 0x0f) | 0x30
  md5[8] = (md5[8] & 0x3f) | 0x80
  const hex = md5.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
