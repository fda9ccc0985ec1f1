/**
 * The `buildgrid` command line: the server (`serve`, `worker`, `migrate`), and client commands that talk to a
 * server's /api/v1. Command modules are loaded only when their command runs (or for --help): the server-side ones pull
 * in the whole server, which would otherwise cost every client command seconds of start-up.
 */
import { Command } from 'commander';

type Register = (program: Command) => void;
const MODULES: Array<{ commands: string[]; load: () => Promise<Register> }> = [
  { commands: ['serve'], load: async () => (await import('./commands/serve.ts')).registerServeCommand },
  { commands: ['migrate'], load: async () => (await import('./commands/migrate.ts')).registerMigrateCommand },
  { commands: ['login', 'accounts', 'users', 'credentials', 'whoami'], load: async () => (await import('./commands/people.ts')).registerPeopleCommands },
  { commands: ['tokens'], load: async () => (await import('./commands/tokens.ts')).registerTokenCommands },
  { commands: ['import'], load: async () => (await import('./commands/import.ts')).registerImportCommand },
  { commands: ['apps', 'services'], load: async () => (await import('./commands/apps.ts')).registerAppCommands },
  { commands: ['deploy', 'builds', 'logs', 'timeline', 'images'], load: async () => (await import('./commands/builds.ts')).registerBuildCommands },
  { commands: ['hooks', 'notifications'], load: async () => (await import('./commands/hooks.ts')).registerHookCommands },
  { commands: ['worker', 'workers'], load: async () => (await import('./commands/worker.ts')).registerWorkerCommands },
  { commands: ['gc', 'fsck', 'retention', 'trash', 'usage'], load: async () => (await import('./commands/lifecycle.ts')).registerLifecycleCommands },
];

const program = new Command('buildgrid')
  .description('BuildGrid: every git commit becomes an image; pull it with any Docker-compatible client')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)');

const first = process.argv.slice(2).find((a) => !a.startsWith('-'));
const wanted = MODULES.filter((m) => first !== undefined && m.commands.includes(first));
// `--version` alone needs no command module; `--help` (or no command) lists them all.
const versionOnly = first === undefined && process.argv.slice(2).some((a) => a === '-V' || a === '--version');
for (const m of wanted.length ? wanted : versionOnly ? [] : MODULES) (await m.load())(program);

await program.parseAsync(process.argv);
