/** Entry point of the `sluice` binary (bin/sluice.js loads the compiled copy of this file). */
import { main } from './main.js'

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`sluice: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
