/**
 * Tells a target that stopped answering (a hung host, a network that drops packets without resetting connections)
 * from one that is only slow. A batch can rightly take minutes (a large COPY into an indexed table), so its duration
 * proves nothing; but a live server answers a new connection's `SELECT 1` at once, even mid-batch. While a batch
 * runs, a check does that every `intervalMs`; one that gets no answer at all within `intervalMs` means the server is
 * not answering. An error is an answer (too many connections, a refused login): only silence counts.
 */
import pg from 'pg'
import { endClient, settledWithin } from '../../../util/pg-connection-ending.js'

/** Starts checking; `onSilent` is called (once) with the reason when a check gets no answer. Returns the stop. */
export function watchServer(connection: pg.ClientConfig, intervalMs: number, onSilent: (reason: string) => void): () => void {
  if (intervalMs <= 0) return () => {}
  let stopped = false
  let checking = false
  const stop = () => {
    stopped = true
    clearInterval(timer)
  }
  const timer = setInterval(() => {
    if (checking) return
    checking = true
    void answers(connection, intervalMs).then((answered) => {
      checking = false
      if (answered || stopped) return
      stop()
      onSilent(`the target database did not answer a check (a new connection's SELECT 1) within ${intervalMs} ms`)
    })
  }, intervalMs)
  timer.unref()
  return stop
}

async function answers(connection: pg.ClientConfig, withinMs: number): Promise<boolean> {
  // The connect timeout outlasts the check, so a connection that cannot even be opened in time counts as silence.
  const client = new pg.Client({ ...connection, connectionTimeoutMillis: withinMs * 2 })
  client.on('error', () => undefined)
  let answered = false
  const check = client.connect().then(() => client.query('SELECT 1')).finally(() => (answered = true))
  await settledWithin(check, withinMs)
  void endClient(client)
  return answered
}
