/**
 * Streaming correctness of single changes: commit order across interleaved transactions, before/after images under
 * DEFAULT and FULL replica identity, primary-key changes, unchanged TOASTed values and TRUNCATE — each read back from
 * the topics of a real source on a real PostgreSQL.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiClient, adminClient } from '../../harness/api-client.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type TestSluice, startTestSluice } from '../../harness/sluice.js'
import { createSource, pgSourceConfig, topicOf, waitForStatus } from '../../harness/sources.js'
import { type TopicRecord, latestOffset, waitForRecords } from '../../harness/topic-reader.js'

/** `source.sequence` is `["<last commit lsn>","<lsn>"]`; Debezium orders events by it. */
function sequence(event: any): [bigint, bigint] {
  const [lastCommit, lsn] = JSON.parse(event.source.sequence) as [string | null, string]
  return [BigInt(lastCommit ?? 0), BigInt(lsn)]
}

function isBefore(a: [bigint, bigint], b: [bigint, bigint]): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1])
}

describe('streaming: commit order, before/after, TOAST and TRUNCATE', () => {
  let pgServer: TestPostgres
  let t: TestSluice
  let api: ApiClient
  let id: string
  const topic = (table: string) => topicOf(id, table)

  beforeAll(async () => {
    pgServer = await startPostgres()
    await pgServer.query(`
      CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance int NOT NULL);
      CREATE TABLE orders (id int PRIMARY KEY, account_id int NOT NULL, amount int NOT NULL, note text);
      CREATE TABLE ledger (id int PRIMARY KEY, entry text NOT NULL, amount int NOT NULL);
      ALTER TABLE ledger REPLICA IDENTITY FULL;
      CREATE TABLE docs (id int PRIMARY KEY, title text NOT NULL, body text NOT NULL);
      CREATE TABLE docs_full (id int PRIMARY KEY, title text NOT NULL, body text NOT NULL);
      ALTER TABLE docs_full REPLICA IDENTITY FULL;`)
    t = await startTestSluice()
    api = adminClient(t)
    id = await createSource(api, pgSourceConfig(pgServer))
    await waitForStatus(api, id, 'Active')
  })
  afterAll(async () => {
    await t?.stop()
    await pgServer?.destroy()
  })

  async function offsets(...tables: string[]): Promise<Record<string, number>> {
    const entries = await Promise.all(tables.map(async (name) => [name, await latestOffset(api, topic(name))]))
    return Object.fromEntries(entries)
  }

  it('delivers interleaved multi-statement transactions from two connections in commit order', async () => {
    const from = await offsets('accounts', 'orders')
    const a = new pg.Client(pgServer.config())
    const b = new pg.Client(pgServer.config())
    await Promise.all([a.connect(), b.connect()])
    try {
      await a.query('BEGIN')
      const txA = Number((await a.query('SELECT txid_current()::text AS x')).rows[0].x)
      await a.query("INSERT INTO accounts VALUES (1, 'ann', 100)")
      await b.query('BEGIN')
      const txB = Number((await b.query('SELECT txid_current()::text AS x')).rows[0].x)
      await b.query("INSERT INTO accounts VALUES (2, 'bob', 50)")
      await a.query("INSERT INTO orders VALUES (10, 1, 30, 'first')")
      await b.query("INSERT INTO orders VALUES (20, 2, 5, NULL)")
      await b.query('UPDATE accounts SET balance = 45 WHERE id = 2')
      await b.query('COMMIT') // B commits first although A started first
      await a.query('UPDATE accounts SET balance = 70 WHERE id = 1')
      await a.query('DELETE FROM orders WHERE id = 10')
      await a.query('COMMIT')

      const accounts = await waitForRecords(api, topic('accounts'), from.accounts, 4)
      const orders = await waitForRecords(api, topic('orders'), from.orders, 4)
      const opAndTx = (r: TopicRecord) => [r.value?.op ?? null, r.value?.source.txId ?? null]
      expect(accounts.map(opAndTx)).toEqual([['c', txB], ['u', txB], ['c', txA], ['u', txA]])
      expect(orders.map(opAndTx)).toEqual([['c', txB], ['c', txA], ['d', txA], [null, null]])

      expect(accounts[0].value).toMatchObject({ before: null, after: { id: 2, owner: 'bob', balance: 50 } })
      // REPLICA IDENTITY DEFAULT: an update that keeps the key carries no old row.
      expect(accounts[1].value).toMatchObject({ before: null, after: { id: 2, owner: 'bob', balance: 45 } })
      expect(accounts[3].value).toMatchObject({ before: null, after: { id: 1, owner: 'ann', balance: 70 } })
      expect(orders[0].value).toMatchObject({ before: null, after: { id: 20, account_id: 2, amount: 5, note: null } })
      // A delete under DEFAULT identity knows the key only; a tombstone with the same key follows it.
      const keyOnly = { id: 10, account_id: null, amount: null, note: null }
      expect(orders[2].value).toMatchObject({ before: keyOnly, after: null })
      expect(orders[2].key).toEqual({ id: 10 })
      expect(orders[3]).toMatchObject({ key: { id: 10 }, value: null })
      for (const r of [...accounts, ...orders]) {
        const expected = { connector: 'postgresql', db: 'postgres', schema: 'public', snapshot: 'false' }
        if (r.value) expect(r.value.source).toMatchObject(expected)
      }

      // Within a transaction source.lsn follows statement order; across transactions, source.sequence follows commit
      // order (B's changes sort before A's, although A wrote first).
      const byTx = (tx: number) =>
        [...accounts, ...orders]
          .filter((r) => r.value?.source.txId === tx)
          .map((r) => r.value)
          .sort((x, y) => (x.source.lsn < y.source.lsn ? -1 : 1))
      const eventsA = byTx(txA)
      const eventsB = byTx(txB)
      const opAndTable = (e: any) => `${e.op}:${e.source.table}`
      expect(eventsA.map(opAndTable)).toEqual(['c:accounts', 'c:orders', 'u:accounts', 'd:orders'])
      expect(eventsB.map(opAndTable)).toEqual(['c:accounts', 'c:orders', 'u:accounts'])
      expect(new Set(eventsA.map((e) => e.source.lsn)).size).toBe(4)
      for (const e of eventsA) expect(sequence(e)[1]).toBe(BigInt(e.source.lsn))
      const lastB = sequence(eventsB.at(-1))
      for (const e of eventsA) expect(isBefore(lastB, sequence(e))).toBe(true)
      for (const records of [accounts, orders]) {
        const events = records.filter((r) => r.value).map((r) => sequence(r.value))
        for (let i = 1; i < events.length; i++) expect(isBefore(events[i - 1], events[i])).toBe(true)
      }
    } finally {
      await Promise.all([a.end(), b.end()])
    }
  })

  it('turns a primary-key change into a delete, a tombstone and a create', async () => {
    const from = await offsets('accounts', 'ledger')
    await pgServer.query("INSERT INTO accounts VALUES (5, 'eve', 7)")
    await pgServer.query('UPDATE accounts SET id = 6 WHERE id = 5')
    await pgServer.query("INSERT INTO ledger VALUES (1, 'opening', 10)")
    await pgServer.query('UPDATE ledger SET id = 2 WHERE id = 1')

    const accounts = await waitForRecords(api, topic('accounts'), from.accounts, 4)
    expect(accounts.map((r) => r.value?.op ?? null)).toEqual(['c', 'd', null, 'c'])
    expect(accounts[1]).toMatchObject({ key: { id: 5 }, value: { before: { id: 5 }, after: null } })
    expect(accounts[2]).toMatchObject({ key: { id: 5 }, value: null })
    expect(accounts[3]).toMatchObject({ key: { id: 6 }, value: { before: null, after: { id: 6, owner: 'eve', balance: 7 } } })
    expect(accounts[1].value.source.txId).toBe(accounts[3].value.source.txId)

    const ledger = await waitForRecords(api, topic('ledger'), from.ledger, 4)
    expect(ledger.map((r) => r.value?.op ?? null)).toEqual(['c', 'd', null, 'c'])
    // REPLICA IDENTITY FULL: the delete half carries the whole old row.
    expect(ledger[1].value.before).toEqual({ id: 1, entry: 'opening', amount: 10 })
    expect(ledger[3].value.after).toEqual({ id: 2, entry: 'opening', amount: 10 })
  })

  it('gives the full old row under REPLICA IDENTITY FULL', async () => {
    const from = await latestOffset(api, topic('ledger'))
    await pgServer.query("INSERT INTO ledger VALUES (3, 'rent', -500)")
    await pgServer.query("UPDATE ledger SET amount = -550, entry = 'rent (corrected)' WHERE id = 3")
    await pgServer.query('DELETE FROM ledger WHERE id = 3')

    const ledger = await waitForRecords(api, topic('ledger'), from, 4)
    expect(ledger.map((r) => r.value?.op ?? null)).toEqual(['c', 'u', 'd', null])
    expect(ledger[1].value.before).toEqual({ id: 3, entry: 'rent', amount: -500 })
    expect(ledger[1].value.after).toEqual({ id: 3, entry: 'rent (corrected)', amount: -550 })
    expect(ledger[2].value.before).toEqual({ id: 3, entry: 'rent (corrected)', amount: -550 })
    expect(ledger[2].value.after).toBeNull()
  })

  it('marks an unchanged TOASTed value as unavailable under DEFAULT identity and sends it under FULL', async () => {
    // >8 kB of md5 hex barely compresses, so PostgreSQL stores it out of line (TOAST).
    const big = "(SELECT string_agg(md5(i::text), '') FROM generate_series(1, 400) AS i)"
    const body = (await pgServer.query(`SELECT ${big} AS body`)).rows[0].body as string
    expect(body.length).toBeGreaterThan(8192)
    const from = await offsets('docs', 'docs_full')
    for (const table of ['docs', 'docs_full']) {
      await pgServer.query(`INSERT INTO ${table} VALUES (1, 'draft', ${big})`)
      await pgServer.query(`UPDATE ${table} SET title = 'final' WHERE id = 1`)
    }
    // The value really lives out of line: the table's TOAST relation holds its chunks.
    const toastSql = "SELECT reltoastrelid::regclass::text AS rel FROM pg_class WHERE relname = 'docs'"
    const toast = (await pgServer.query(toastSql)).rows[0].rel
    expect((await pgServer.query(`SELECT count(*)::int AS n FROM ${toast}`)).rows[0].n).toBeGreaterThan(0)

    // Rows with the long body replaced by a marker, so a failure prints a readable diff.
    const brief = (row: any) =>
      row && { ...row, body: row.body === body ? '<the 12800-char body>' : String(row.body).slice(0, 60) }
    const docs = await waitForRecords(api, topic('docs'), from.docs, 2)
    expect(brief(docs[0].value.after)).toEqual({ id: 1, title: 'draft', body: '<the 12800-char body>' })
    const unavailable = '__debezium_unavailable_value'
    expect(docs[1].value).toMatchObject({ op: 'u', before: null, after: { id: 1, title: 'final', body: unavailable } })

    const full = await waitForRecords(api, topic('docs_full'), from.docs_full, 2)
    expect(full[1].value.op).toBe('u')
    expect(brief(full[1].value.before)).toEqual({ id: 1, title: 'draft', body: '<the 12800-char body>' })
    expect(brief(full[1].value.after)).toEqual({ id: 1, title: 'final', body: '<the 12800-char body>' })
  })

  it('emits an op "t" event for TRUNCATE', async () => {
    const from = await latestOffset(api, topic('ledger'))
    await pgServer.query("INSERT INTO ledger VALUES (9, 'x', 1)")
    await pgServer.query('TRUNCATE ledger')
    const ledger: TopicRecord[] = await waitForRecords(api, topic('ledger'), from, 2)
    expect(ledger[1].key).toBeNull()
    expect(ledger[1].value).toMatchObject({ op: 't', before: null, after: null, source: { table: 'ledger' } })
    expect(ledger[1].value.source.txId).toEqual(expect.any(Number))
  })
})
