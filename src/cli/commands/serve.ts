import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { startServer } from '../../app/server.ts';
import { CliError } from '../output.ts';
import { action } from '../run.ts';

/** `buildgrid serve`: runs the registry, API and (later) builders in one process on embedded defaults. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run BuildGrid (registry + API) on SQLite and the filesystem under the data directory')
    .option('--port <port>', 'TCP port (BUILDGRID_PORT, default 5000)')
    .option('--host <address>', 'address to bind (BUILDGRID_HOST, default 0.0.0.0)')
    .option('--data-dir <dir>', 'data directory (BUILDGRID_DATA_DIR, default ./data)')
    .option('--public-url <url>', 'URL clients use, for image names and the token realm (BUILDGRID_PUBLIC_URL)')
    .option('--config <file>', 'JSON configuration file (BUILDGRID_CONFIG)')
    .action(action(async (opts: { port?: string; host?: string; dataDir?: string; publicUrl?: string; config?: string }) => {
      let config;
      try {
        config = loadConfig({ file: opts.config, overrides: { port: opts.port, host: opts.host, dataDir: opts.dataDir, publicUrl: opts.publicUrl } });
      } catch (err) {
        throw new CliError((err as Error).message, 'fix the setting and start again');
      }
      const server = await startServer(config);
      const stop = async (signal: string) => {
        server.log.info({ signal }, 'shutting down');
        await server.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    }));
}
