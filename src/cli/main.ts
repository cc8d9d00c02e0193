/**
 * The `sluice` command. `start` runs the server; flags fall back to `SLUICE_*` environment variables.
 */
import { Command, InvalidArgumentError } from 'commander'
import { ConfigError, loadConfig } from '../config/config.js'
import { startSluice } from '../main.js'
import { VERSION } from '../version.js'

export async function main(argv: string[]): Promise<void> {
  const program = new Command()
  program.name('sluice').description('Self-hosted change data capture with a Streamkap-compatible API').version(VERSION)

  program
    .command('start')
    .description('Run the Sluice server')
    .option('--host <host>', 'interface to listen on (SLUICE_HOST)')
    .option('--port <port>', 'port to listen on (SLUICE_PORT)')
    .option('--data-dir <dir>', 'where Sluice keeps its data (SLUICE_DATA_DIR)')
    .option('--metadata-url <url>', 'postgres:// URL of a shared metadata database (SLUICE_METADATA_URL)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (SLUICE_LOG_LEVEL)')
    .action(async (flags: { host?: string; port?: string; dataDir?: string; metadataUrl?: string; logLevel?: string }) => {
      let config
      try {
        config = loadConfig(flags)
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`sluice: ${err.message}\n`)
          process.exit(2)
        }
        throw err
      }
      const sluice = await startSluice(config, {
        // Nothing durable is lost by exiting (appends resolve only once on disk); a supervisor restarts the process.
        onFatal: (error) => {
          process.stderr.write(`sluice: fatal: ${error.message}; exiting\n`)
          process.exit(1)
        },
        onGeneratedCredential: ({ clientId, secret, url }) => {
          // Printed once, to the terminal only: the secret is stored hashed and never logged.
          process.stdout.write(
            `\nNo API credential existed, so Sluice created an administrator credential.\n` +
              `Save the secret now; it will not be shown again.\n\n` +
              `  client_id: ${clientId}\n  secret:    ${secret}\n\n` +
              `Get a token:\n  curl -s -X POST ${url}/auth/access-token \\\n` +
              `    -H 'Content-Type: application/json' -d '{"client_id":"${clientId}","secret":"${secret}"}'\n\n`,
          )
        },
      })
      process.stdout.write(`Sluice ${VERSION} listening on ${sluice.url} (API docs: ${sluice.url}/docs)\n`)
      let stopping = false
      const stop = async (signal: string) => {
        if (stopping) return
        stopping = true
        sluice.logger.info({ signal }, 'stopping')
        await sluice.close()
        process.exit(0)
      }
      process.on('SIGINT', () => void stop('SIGINT'))
      process.on('SIGTERM', () => void stop('SIGTERM'))
    })

  program
    .command('demo')
    .description('Start an embedded PostgreSQL with a sample shop and show Sluice capturing it, end to end')
    .option('--port <port>', 'API port', '8080')
    .option('--scale <factor>', 'size of the sample shop (1: 50,000 customers, 200,000 orders, 100,000 events)', parseScale, 1)
    .option('--exit', 'clean up and exit once the checks pass, instead of waiting for Ctrl-C')
    .action(async (flags: { port: string; scale: number; exit?: boolean }) => {
      const { runDemo } = await import('./demo.js')
      await runDemo({ port: Number(flags.port), scale: flags.scale, exit: flags.exit ?? false })
    })

  await program.parseAsync(argv)
}

function parseScale(text: string): number {
  const scale = Number(text)
  if (!(scale > 0 && scale <= 20)) throw new InvalidArgumentError('a number above 0 and at most 20')
  return scale
}
