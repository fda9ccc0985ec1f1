import type { Command } from 'commander';
import type { CreatedPullTokenT, MeT, PullTokenT } from '../../api/schemas.ts';
import { api, currentLogin, type CliLogin } from '../client.ts';
import { CliError, emit, table } from '../output.ts';
import { action } from '../run.ts';

/** The account namespace to act on: --account, else the caller's only account. Throws CliError when ambiguous. */
export async function resolveAccount(login: CliLogin, account: string | undefined): Promise<string> {
  if (account) return account;
  const me = await api<MeT>(login, 'GET', '/me');
  if (me.accounts.length === 1) return me.accounts[0]!.namespace;
  throw new CliError(
    me.accounts.length === 0 ? 'you are not a member of any account' : 'you belong to several accounts',
    me.accounts.length === 0 ? 'ask an owner to add you, or create one with `buildgrid accounts create NAME`' : `pass --account with one of: ${me.accounts.map((a) => a.namespace).join(', ')}`,
  );
}

/** "30d", "12h", "90m" → milliseconds. Throws CliError on anything else. */
export function parseDuration(s: string): number {
  const m = /^(\d+)([dhm])$/.exec(s.trim());
  if (!m) throw new CliError(`invalid duration "${s}"`, 'use a number followed by d, h or m, e.g. 30d');
  const n = Number(m[1]);
  return n * (m[2] === 'd' ? 86400000 : m[2] === 'h' ? 3600000 : 60000);
}

/** `buildgrid tokens create|list|revoke`: pull-only credentials for machines. */
export function registerTokenCommands(program: Command): void {
  const tokens = program.command('tokens').description('pull tokens: named, revocable, pull-only credentials for CI and Kubernetes');
  tokens
    .command('create <name>')
    .description('create a pull token (its password is shown once)')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--expires <duration>', 'lifetime such as 30d, 12h')
    .option('--repo <repository>', 'limit to a repository (repeatable); full name ns/repo or just repo', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--json', 'machine-readable output')
    .action(action(async (name: string, opts: { account?: string; expires?: string; repo: string[]; json?: boolean }) => {
      const login = currentLogin();
      const ns = await resolveAccount(login, opts.account);
      const repositories = opts.repo.length ? opts.repo.map((r) => (r.includes('/') ? r : `${ns}/${r}`)) : undefined;
      const expiresAt = opts.expires ? new Date(Date.now() + parseDuration(opts.expires)).toISOString() : undefined;
      const t = await api<CreatedPullTokenT>(login, 'POST', `/accounts/${encodeURIComponent(ns)}/tokens`, { name, repositories, expiresAt });
      emit(opts, t, () => {
        console.log(`Created pull token ${t.name} (${t.id})${t.expiresAt ? `, expires ${t.expiresAt}` : ''}.`);
        console.log(`Username:  ${t.username}\nPassword:  ${t.password}   (shown once; store it now)`);
      });
    }));
  tokens
    .command('list')
    .description('pull tokens of an account')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: { account?: string; json?: boolean }) => {
      const login = currentLogin();
      const ns = await resolveAccount(login, opts.account);
      const list = await api<PullTokenT[]>(login, 'GET', `/accounts/${encodeURIComponent(ns)}/tokens`);
      emit(opts, list, () =>
        table(list.map((t) => ({ ...t, repositories: t.repositories?.join(',') ?? '(all)', status: t.revokedAt ? 'revoked' : t.expiresAt && t.expiresAt < new Date().toISOString() ? 'expired' : 'active' })),
          ['id', 'name', 'username', 'status', 'repositories', 'expiresAt']));
    }));
  tokens
    .command('revoke <id>')
    .description('revoke a pull token; it stops working at once')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--json', 'machine-readable output')
    .action(action(async (id: string, opts: { account?: string; json?: boolean }) => {
      const login = currentLogin();
      const ns = await resolveAccount(login, opts.account);
      await api(login, 'DELETE', `/accounts/${encodeURIComponent(ns)}/tokens/${encodeURIComponent(id)}`);
      emit(opts, { id, revoked: true }, () => console.log(`Revoked pull token ${id}.`));
    }));
}
