/**
 * The `buildgrid` command line: the server (`serve`), and client commands that talk to a server's /api/v1.
 */
import { Command } from 'commander';
import { registerServeCommand } from './commands/serve.ts';
import { registerMigrateCommand } from './commands/migrate.ts';
import { registerPeopleCommands } from './commands/people.ts';
import { registerTokenCommands } from './commands/tokens.ts';
import { registerImportCommand } from './commands/import.ts';
import { registerAppCommands } from './commands/apps.ts';
import { registerBuildCommands } from './commands/builds.ts';
import { registerHookCommands } from './commands/hooks.ts';
import { registerWorkerCommands } from './commands/worker.ts';
import { registerLifecycleCommands } from './commands/lifecycle.ts';

const program = new Command('buildgrid')
  .description('BuildGrid: every git commit becomes an image; pull it with any Docker-compatible client')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)');

registerServeCommand(program);
registerMigrateCommand(program);
registerPeopleCommands(program);
registerTokenCommands(program);
registerImportCommand(program);
registerAppCommands(program);
registerBuildCommands(program);
registerHookCommands(program);
registerWorkerCommands(program);
registerLifecycleCommands(program);

await program.parseAsync(process.argv);
