import type { Command } from 'commander';
import type { AppDetailT, AppViewT, ServiceViewT } from '../../api/schemas.ts';
import { api, currentLogin, type CliLogin } from '../client.ts';
import { CliError, emit, readStdin, table } from '../output.ts';
import { action } from '../run.ts';
import { resolveAccount } from './tokens.ts';

/** `ns/app` or `app` (+ --account) → the API path of the application. */
export async function appPath(login: CliLogin, app: string, account?: string): Promise<{ ns: string; slug: string; path: string }> {
  const [ns, slug] = app.includes('/') ? app.split('/', 2) as [string, string] : [await resolveAccount(login, account), app];
  return { ns, slug, path: `/accounts/${encodeURIComponent(ns)}/apps/${encodeURIComponent(slug)}` };
}

/** K=V pairs → object. Throws CliError on a pair without '='. */
export function parsePairs(pairs: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new CliError(`invalid ${what} "${p}"`, `use KEY=VALUE`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

const collect = (v: string, acc: string[]) => [...acc, v];

/** `buildgrid apps …` and `buildgrid services …`. */
export function registerAppCommands(program: Command): void {
  const apps = program.command('apps').description('applications: a set of services built and deployed together');
  apps.command('create <name>')
    .description('create an application')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--env <KEY=VALUE>', 'build-time variable (fills Dockerfile ARGs; repeatable)', collect, [] as string[])
    .option('--json', 'machine-readable output')
    .action(action(async (name: string, opts: { account?: string; env: string[]; json?: boolean }) => {
      const login = currentLogin();
      const ns = await resolveAccount(login, opts.account);
      const a = await api<AppViewT>(login, 'POST', `/accounts/${encodeURIComponent(ns)}/apps`, { name, env: parsePairs(opts.env, 'variable') });
      emit(opts, a, () => console.log(`Created application ${a.name} (${ns}/${a.slug}). Next: buildgrid services add ${ns}/${a.slug} NAME --git URL`));
    }));
  apps.command('list')
    .description('applications of an account with their last deployment')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: { account?: string; json?: boolean }) => {
      const login = currentLogin();
      const ns = await resolveAccount(login, opts.account);
      const list = await api<AppViewT[]>(login, 'GET', `/accounts/${encodeURIComponent(ns)}/apps`);
      emit(opts, list, () => table(list.map((a) => ({ app: `${ns}/${a.slug}`, name: a.name, deployed: a.lastDeployment ? `${a.lastDeployment.status} ${a.lastDeployment.createdAt}` : 'never' })), ['app', 'name', 'deployed']));
    }));
  apps.command('show <app>')
    .description('an application, its services and their latest images')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--json', 'machine-readable output')
    .action(action(async (app: string, opts: { account?: string; json?: boolean }) => {
      const login = currentLogin();
      const { path } = await appPath(login, app, opts.account);
      const a = await api<AppDetailT>(login, 'GET', path);
      emit(opts, a, () => {
        console.log(`${a.name} (${a.namespace}/${a.slug})  variables: ${Object.keys(a.env).join(', ') || '-'}`);
        table(a.services.map((s) => ({ service: s.name, git: `${s.gitUrl}#${s.branch}`, status: s.latest?.status ?? 'never built', image: s.latest?.image ?? s.imageRepository })), ['service', 'git', 'status', 'image']);
      });
    }));

  const services = program.command('services').description('services: one image each, built from a git repository');
  services.command('add <app> <name>')
    .description('add a service to an application')
    .requiredOption('--git <url>', 'git URL (https://, ssh://, user@host:path; file:// when the server allows it)')
    .option('--branch <branch>', 'branch to build', 'main')
    .option('--dockerfile <path>', 'Dockerfile path in the repository', 'Dockerfile')
    .option('--context <dir>', 'build root in the repository', '.')
    .option('--build-arg <KEY=VALUE>', 'build argument (repeatable)', collect, [] as string[])
    .option('--git-token-stdin', 'read an HTTPS token for a private repository from stdin')
    .option('--git-username <name>', 'username for the git token', 'git')
    .option('--ssh-key', 'generate an SSH deploy key (its public half is printed: add it to the repository)')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--json', 'machine-readable output')
    .action(action(async (app: string, name: string, opts: { git: string; branch: string; dockerfile: string; context: string; buildArg: string[]; gitTokenStdin?: boolean; gitUsername: string; sshKey?: boolean; account?: string; json?: boolean }) => {
      const login = currentLogin();
      const { path } = await appPath(login, app, opts.account);
      const gitToken = opts.gitTokenStdin ? { username: opts.gitUsername, token: await readStdin() } : undefined;
      const s = await api<ServiceViewT>(login, 'POST', `${path}/services`, {
        name, gitUrl: opts.git, branch: opts.branch, dockerfile: opts.dockerfile, context: opts.context,
        buildArgs: parsePairs(opts.buildArg, 'build arg'), gitToken, sshDeployKey: opts.sshKey ?? false,
      });
      emit(opts, s, () => {
        console.log(`Added service ${s.name}: images will be ${s.imageRepository}:<commit>`);
        if (s.sshPublicKey) console.log(`Add this deploy key (read-only) to the repository:\n  ${s.sshPublicKey}`);
      });
    }));
}
