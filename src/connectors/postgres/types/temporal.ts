/**
 * Parsers for PostgreSQL's text output of date/time types (DateStyle ISO, IntervalStyle postgres: the server
 * defaults, and what pgoutput and `COPY … TO STDOUT` send), producing the numbers and strings Debezium emits.
 * Calendar arithmetic is proleptic Gregorian with astronomical years (1 BC = year 0), as java.time does.
 */

const MICROS_PER_DAY = 86_400_000_000n

/** Debezium's `PGStatement.DATE_POSITIVE_INFINITY` / `DATE_NEGATIVE_INFINITY`, read as microseconds. */
export const POSITIVE_INFINITY_MICROS = 9223372036825200000n
export const NEGATIVE_INFINITY_MICROS = -9223372036832400000n

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const mp = (month + 9) % 12
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

/** The inverse of `daysFromCivil`. */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468
  const era = Math.floor(z / 146097)
  const doe = z - era * 146097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365)
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp < 10 ? mp + 3 : mp - 9
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day }
}

const DATE_RE = /^(\d{4,})-(\d{2})-(\d{2})( BC)?$/
const TIME_RE = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/
const TIMESTAMP_RE =
  /^(\d{4,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?([+-]\d{2}(?::\d{2}){0,2})?( BC)?$/
const TIMETZ_RE = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?([+-]\d{2}(?::\d{2}){0,2})$/

function fail(kind: string, text: string): never {
  throw new Error(`cannot parse PostgreSQL ${kind} text ${JSON.stringify(text)}`)
}

function astronomicalYear(digits: string, bc: string | undefined): number {
  const year = Number(digits)
  return bc ? 1 - year : year
}

function fractionMicros(digits: string | undefined): number {
  return digits ? Number(digits.padEnd(6, '0')) : 0
}

/** `+05:30`, `-11:26:56`, `+02` → seconds east of UTC. */
function offsetSeconds(text: string): number {
  const sign = text[0] === '-' ? -1 : 1
  const [h, m = '0', s = '0'] = text.slice(1).split(':')
  return sign * (Number(h) * 3600 + Number(m) * 60 + Number(s))
}

/**
 * Days since the Unix epoch. Debezium maps `infinity` / `-infinity` to the LocalDates -5877611-06-21 and
 * -5877611-06-22 (PgJDBC's sentinels) and casts their epoch day to int, so we do the same.
 */
export function parseDate(text: string): number {
  if (text === 'infinity') return DATE_POSITIVE_INFINITY_DAYS
  if (text === '-infinity') return DATE_NEGATIVE_INFINITY_DAYS
  const m = DATE_RE.exec(text) ?? fail('date', text)
  return daysFromCivil(astronomicalYear(m[1], m[4]), Number(m[2]), Number(m[3]))
}

export const DATE_POSITIVE_INFINITY_DAYS = daysFromCivil(-5877611, 6, 21) | 0
export const DATE_NEGATIVE_INFINITY_DAYS = daysFromCivil(-5877611, 6, 22) | 0

/** Microseconds past midnight; `24:00:00` is 86,400,000,000 as Debezium reports it. */
export function parseTimeMicros(text: string): number {
  const m = TIME_RE.exec(text) ?? fail('time', text)
  return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1_000_000 + fractionMicros(m[4])
}

/** Microseconds since the Unix epoch of a `timestamp` (no zone: read as UTC, as Debezium does). */
export function parseTimestampMicros(text: string): bigint {
  if (text === 'infinity') return POSITIVE_INFINITY_MICROS
  if (text === '-infinity') return NEGATIVE_INFINITY_MICROS
  const m = TIMESTAMP_RE.exec(text)
  if (!m || m[8] !== undefined) fail('timestamp', text)
  return epochMicros(m)
}

function epochMicros(m: RegExpExecArray): bigint {
  const days = daysFromCivil(astronomicalYear(m[1], m[9]), Number(m[2]), Number(m[3]))
  const tod = ((Number(m[4]) * 60 + Number(m[5])) * 60 + Number(m[6])) * 1_000_000 + fractionMicros(m[7])
  return BigInt(days) * MICROS_PER_DAY + BigInt(tod)
}

/**
 * A `timestamptz` as Debezium's ZonedTimestamp: ISO-8601 in UTC (`Z`). For a declared precision p in 1..6
 * (unspecified = 6) the fraction has exactly p digits; for p = 0 java.time's ISO formatter prints no fraction.
 * Infinity stays the literal `infinity` / `-infinity`.
 */
export function formatTimestamptz(text: string, precision: number): string {
  if (text === 'infinity' || text === '-infinity') return text
  const m = TIMESTAMP_RE.exec(text)
  if (!m || m[8] === undefined) fail('timestamptz', text)
  // Already UTC (a server or session in UTC, the common case) with a 4-digit year: the ISO form is a re-spelling of
  // the text, no date arithmetic (the BigInt path below cost ~7% of a snapshot's time in profiles).
  if (m[8] === '+00' && m[9] === undefined && m[1].length === 4) {
    return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${fractionText(m[7], precision)}Z`
  }
  const micros = epochMicros(m) - BigInt(offsetSeconds(m[8])) * 1_000_000n
  let days = micros / MICROS_PER_DAY
  let tod = micros % MICROS_PER_DAY
  if (tod < 0n) {
    tod += MICROS_PER_DAY
    days -= 1n
  }
  const { year, month, day } = civilFromDays(Number(days))
  return `${isoYear(year)}-${pad2(month)}-${pad2(day)}T${formatTimeOfDay(Number(tod), precision)}Z`
}

/** A `timetz` as Debezium's ZonedTime: shifted to UTC, `HH:mm:ss[.fraction without trailing zeros]Z`. */
export function formatTimetz(text: string): string {
  const m = TIMETZ_RE.exec(text) ?? fail('timetz', text)
  const local = ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1_000_000 + fractionMicros(m[4])
  const offset = offsetSeconds(m[5])
  // The end-of-day boundary at UTC is kept as 24:00:00 rather than wrapping to midnight (PostgresTimeBoundary).
  if (local === 86_400_000_000 && offset === 0) return '24:00:00Z'
  const day = 86_400_000_000
  const utc = (((local - offset * 1_000_000) % day) + day) % day
  return `${formatTimeOfDay(utc, -1)}Z`
}

/** A fraction's text (PostgreSQL prints 1–6 digits, trailing zeros trimmed) as formatTimeOfDay prints it. */
function fractionText(digits: string | undefined, precision: number): string {
  if (precision > 0 && precision <= 6) return `.${(digits ?? '').padEnd(6, '0').slice(0, precision)}`
  const significant = digits?.replace(/0+$/, '') ?? ''
  return significant === '' ? '' : `.${significant}`
}

/**
 * `HH:mm:ss` plus a fraction: `digits` > 0 prints exactly that many digits; otherwise java.time's ISO style,
 * which prints only the significant digits (none for a whole second).
 */
function formatTimeOfDay(micros: number, digits: number): string {
  const seconds = Math.floor(micros / 1_000_000)
  const fraction = micros - seconds * 1_000_000
  const hms = `${pad2(Math.floor(seconds / 3600))}:${pad2(Math.floor(seconds / 60) % 60)}:${pad2(seconds % 60)}`
  const six = String(fraction).padStart(6, '0')
  if (digits > 0 && digits <= 6) return `${hms}.${six.slice(0, digits)}`
  if (fraction === 0) return hms
  return `${hms}.${six.replace(/0+$/, '')}`
}

/** java.time's ISO year: at least 4 digits, `+` beyond 9999, `-` before year 0. */
function isoYear(year: number): string {
  if (year > 9999) return `+${year}`
  if (year < 0) return `-${String(-year).padStart(4, '0')}`
  return String(year).padStart(4, '0')
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n)
}

// Debezium's average month: 365.25 / 12 days (MicroDuration.DAYS_PER_MONTH_AVG).
const DAYS_PER_MONTH_AVG = 365.25 / 12.0

const INTERVAL_UNIT_RE = /^([+-]?\d+) (year|years|mon|mons|day|days)$/
const INTERVAL_TIME_RE = /^([+-])?(\d+):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/

/**
 * An `interval` in IntervalStyle `postgres` (`1 year 2 mons -3 days +04:05:06.78`) → Debezium's MicroDuration,
 * computed with the same double arithmetic as `MicroDuration.durationMicros` so that rounding matches.
 */
export function parseIntervalMicros(text: string): bigint {
  let years = 0
  let months = 0
  let days = 0
  let hours = 0
  let minutes = 0
  let seconds = 0
  const tokens = text.split(' ')
  for (let i = 0; i < tokens.length; i++) {
    const time = INTERVAL_TIME_RE.exec(tokens[i])
    if (time) {
      const sign = time[1] === '-' ? -1 : 1
      hours = sign * Number(time[2])
      minutes = sign * Number(time[3])
      // PgJDBC's PGInterval keeps whole seconds and rounded microseconds, then recombines them as a double.
      const whole = Number(time[4])
      const micros = fractionMicros(time[5])
      seconds = sign * (whole + micros / 1_000_000)
      continue
    }
    const unit = INTERVAL_UNIT_RE.exec(`${tokens[i]} ${tokens[i + 1]}`) ?? fail('interval', text)
    const n = Number(unit[1])
    if (unit[2].startsWith('year')) years = n
    else if (unit[2].startsWith('mon')) months = n
    else days = n
    i++
  }
  const numberOfDays = (years * 12 + months) * DAYS_PER_MONTH_AVG + days
  const numberOfSeconds = ((numberOfDays * 24 + hours) * 60 + minutes) * 60 + seconds
  return BigInt(Math.trunc(numberOfSeconds * 1e6))
}
