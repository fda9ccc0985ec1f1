import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { isAppError } from '../../core/errors.ts';
import { loadConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { MIGRATIONS } from '../../metadata/index.ts';
import { describeMetadata, metadataOptions, openConfiguredMetadata } from '../../app/backends.ts';
import { CliError, emit } from '../output.ts';
import { action } from '../run.ts';

/** The newest schema this build knows (the last migration name). */
const KNOWN_VERSION = Object.keys(MIGRATIONS).sort().at(-1) ?? '(none)';

/**
 * Turns a failure to open the metadata store into a CliError that says what to do. Used by `migrate` and `serve`:
 * a database migrated by a newer BuildGrid, an unreachable or misconfigured database.
 */
export function metadataCliError(err: unknown, database: string): unknown {
  if (!isAppError(err)) return err;
  const { code, message } = err;
  if (code === 'INVALID' && /newer BuildGrid/.test(message)) {
    return new CliError(`${database}: ${message}`,
      `this BuildGrid knows the schema up to ${KNOWN_VERSION}; run the BuildGrid version that migrated this database (or a newer one). It refuses to start rather than risk damaging data.`,
      'schema_too_new');
  }
  if (code === 'INVALID' && /metadata database/.test(message)) {
    return new CliError(message, 'check databaseUrl (BUILDGRID_DATABASE_URL) or the data directory, and that the database server is up');
  }
  if (code === 'INTERNAL' && /metadata migration/.test(message)) {
    return new CliError(message, 'the failed migration was rolled back; fix the cause and run `buildgrid migrate` again');
  }
  return err;
}

/** Loads the configuration for an admin command from flags, file and environment; CliError on a bad setting. */
function configFrom(opts: { dataDir?: string; databaseUrl?: string; config?: string }): Config {
  try {
    return loadConfig({ file: opts.config, overrides: { dataDir: opts.dataDir, databaseUrl: opts.databaseUrl } });
  } catch (err) {
    throw new CliError((err as Error).message, 'fix the setting and run it again');
  }
}

/** `buildgrid migrate`: applies pending metadata migrations explicitly and says which. */
export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply pending metadata migrations (PostgreSQL at databaseUrl, else SQLite in the data directory) and print what was applied')
    .option('--data-dir <dir>', 'data directory holding the SQLite database (BUILDGRID_DATA_DIR, default ./data)')
    .option('--database-url <url>', 'PostgreSQL URL postgres://user:password@host:port/database (BUILDGRID_DATABASE_URL)')
    .option('--config <file>', 'JSON configuration file (BUILDGRID_CONFIG)')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: { dataDir?: string; databaseUrl?: string; config?: string; json?: boolean }) => {
      const config = configFrom(opts);
      const dataDir = resolve(config.dataDir);
      const target = metadataOptions(config, dataDir);
      const database = describeMetadata(target);
      if (target.kind === 'sqlite') mkdirSync(dataDir, { recursive: true });
      let applied: string[] = [];
      try {
        const metadata = await openConfiguredMetadata(config, dataDir, (names) => (applied = names));
        await metadata.close();
      } catch (err) {
        throw metadataCliError(err, database);
      }
      emit(opts, { database, applied, version: KNOWN_VERSION }, () => {
        if (applied.length === 0) {
          process.stdout.write(`${database} is up to date (schema ${KNOWN_VERSION}); nothing to apply\n`);
          return;
        }
        process.stdout.write(`applied ${applied.length} migration${applied.length === 1 ? '' : 's'} to ${database}:\n`);
        for (const name of applied) process.stdout.write(`  ${name}\n`);
        process.stdout.write(`schema is now ${KNOWN_VERSION}\n`);
      });
    }));
}
