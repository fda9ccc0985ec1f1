import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { startServer } from '../../app/server.ts';
import { describeMetadata, metadataOptions } from '../../app/backends.ts';
import { isAppError } from '../../core/errors.ts';
import { CliError } from '../output.ts';
import { action } from '../run.ts';
import { metadataCliError } from './migrate.ts';

/**
 * `buildgrid serve`: runs the registry, API and builders in one process — on SQLite and the filesystem under the
 * data directory by default, on PostgreSQL (databaseUrl) and S3 (s3Bucket) when configured. Refuses to start on a
 * database migrated by a newer BuildGrid, saying so.
 */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run BuildGrid (registry, API, builders): SQLite + filesystem under the data directory, or PostgreSQL (databaseUrl) + S3 (s3Bucket)')
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
      let server;
      try {
        server = await startServer(config);
      } catch (err) {
        const database = describeMetadata(metadataOptions(config, config.dataDir));
        const cli = metadataCliError(err, database);
        if (cli !== err) throw cli;
        if (isAppError(err, 'INVALID') && /S3 bucket/.test(err.message)) throw new CliError(err.message, 'fix the s3* settings (BUILDGRID_S3_*) and start again');
        throw err;
      }
      const stop = async (signal: string) => {
        server!.log.info({ signal }, 'shutting down');
        await server!.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    }));
}
