import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import type { AccountT, CredentialsT, LoginReplyT, MeT, UserT, MemberT } from '../../api/schemas.ts';
import { api, currentLogin, saveLogin, type CliLogin } from '../client.ts';
import { CliError, emit, readStdin, table } from '../output.ts';
import { action } from '../run.ts';

/** `buildgrid login`, `accounts`, `users`, `credentials`: people and their BuildGrid credentials. */
export function registerPeopleCommands(program: Command): void {
  program
    .command('login')
    .description('sign in to a BuildGrid server and store an API token for later commands')
    .option('--server <url>', 'server URL', process.env.BUILDGRID_SERVER ?? 'http://localhost:5000')
    .requiredOption('--email <email>', 'your dashboard email')
    .option('--password <password>', 'your dashboard password (prefer --password-stdin)')
    .option('--password-stdin', 'read the password from stdin')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: { server: string; email: string; password?: string; passwordStdin?: boolean; json?: boolean }) => {
      const password = opts.passwordStdin ? await readStdin() : opts.password;
      if (!password) throw new CliError('no password given', 'pass --password-stdin and pipe the password in, or --password');
      const server = opts.server.replace(/\/+$/, '');
      const reply = await api<LoginReplyT>({ server }, 'POST', '/auth/login', { email: opts.email, password });
      saveLogin({ server, token: reply.token, email: reply.user.email });
      emit(opts, { server, user: reply.user }, () => console.log(`Logged in to ${server} as ${reply.user.email}.`));
    }));

  const accounts = program.command('accounts').description('accounts (teams) and their namespaces');
  accounts
    .command('create <name>')
    .description('create an account; you become its owner')
    .option('--namespace <ns>', 'namespace slug (default: derived from the name)')
    .option('--json', 'machine-readable output')
    .action(action(async (name: string, opts: { namespace?: string; json?: boolean }) => {
      const a = await api<AccountT>(currentLogin(), 'POST', '/accounts', { name, namespace: opts.namespace });
      emit(opts, a, () => console.log(`Created account ${a.name} with namespace ${a.namespace}.`));
    }));
  accounts
    .command('list')
    .description('accounts you can see (all of them for administrators)')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: { json?: boolean }) => {
      const list = await api<AccountT[]>(currentLogin(), 'GET', '/accounts');
      emit(opts, list, () => table(list, ['namespace', 'name', 'role', 'createdAt']));
    }));
  accounts
    .command('members <namespace>')
    .description('members of an account')
    .option('--json', 'machine-readable output')
    .action(action(async (ns: string, opts: { json?: boolean }) => {
      const list = await api<MemberT[]>(currentLogin(), 'GET', `/accounts/${encodeURIComponent(ns)}/members`);
      emit(opts, list, () => table(list, ['email', 'role', 'userId']));
    }));

  const users = program.command('users').description('people with a dashboard login');
  users
    .command('create <email>')
    .description('create a user (administrators; account owners may add users to their account)')
    .option('--password <password>', 'dashboard password (default: generated and printed once)')
    .option('--password-stdin', 'read the password from stdin')
    .option('--account <namespace>', 'add the user to this account')
    .option('--role <role>', 'owner, developer or viewer', 'developer')
    .option('--admin', 'make the user an administrator')
    .option('--json', 'machine-readable output')
    .action(action(async (email: string, opts: { password?: string; passwordStdin?: boolean; account?: string; role: string; admin?: boolean; json?: boolean }) => {
      const generated = !opts.password && !opts.passwordStdin;
      const password = opts.passwordStdin ? await readStdin() : opts.password ?? randomBytes(12).toString('base64url');
      const u = await api<UserT>(currentLogin(), 'POST', '/users', {
        email, password, isAdmin: opts.admin ?? false, account: opts.account, role: opts.account ? opts.role : undefined,
      });
      emit(opts, { ...u, ...(generated ? { password } : {}) }, () => {
        console.log(`Created user ${u.email}${opts.account ? ` (${opts.role} of ${opts.account})` : ''}.`);
        if (generated) console.log(`Password (shown once): ${password}`);
      });
    }));
  users
    .command('list')
    .description('all users (administrators)')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: { json?: boolean }) => {
      const list = await api<UserT[]>(currentLogin(), 'GET', '/users');
      emit(opts, list, () => table(list.map((u) => ({ email: u.email, registryUsername: u.registryUsername, createdAt: u.createdAt, admin: u.isAdmin ? 'yes' : '' })), ['email', 'admin', 'registryUsername', 'createdAt']));
    }));
  users
    .command('add <email>')
    .description('add an existing user to an account or change their role')
    .requiredOption('--account <namespace>', 'the account')
    .option('--role <role>', 'owner, developer or viewer', 'developer')
    .option('--json', 'machine-readable output')
    .action(action(async (email: string, opts: { account: string; role: string; json?: boolean }) => {
      const m = await api<MemberT>(currentLogin(), 'PUT', `/accounts/${encodeURIComponent(opts.account)}/members`, { email, role: opts.role });
      emit(opts, m, () => console.log(`${email} is now ${m.role} of ${opts.account}.`));
    }));

  const creds = program.command('credentials').description('your BuildGrid (registry) credentials, separate from your dashboard login');
  const showCreds = (c: CredentialsT, rotated: boolean) => {
    if (rotated) console.log('New password issued; the old one no longer works.');
    console.log(`Registry:  ${c.registry}\nUsername:  ${c.username}\nPassword:  ${c.password}\n`);
    console.log(`  echo '${c.password}' | docker login ${c.registry} -u ${c.username} --password-stdin`);
  };
  creds
    .command('show')
    .description('show your registry username and password')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: { json?: boolean }) => {
      const c = await api<CredentialsT>(currentLogin(), 'GET', '/credentials');
      emit(opts, c, () => showCreds(c, false));
    }));
  creds
    .command('rotate')
    .description('issue a new registry password; the old one stops working at once')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: { json?: boolean }) => {
      const c = await api<CredentialsT>(currentLogin(), 'POST', '/credentials/rotate');
      emit(opts, c, () => showCreds(c, true));
    }));

  program
    .command('whoami')
    .description('the signed-in user and their accounts')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: { json?: boolean }) => {
      const login: CliLogin = currentLogin();
      const me = await api<MeT>(login, 'GET', '/me');
      emit(opts, me, () => {
        console.log(`${me.email}${me.isAdmin ? ' (administrator)' : ''} on ${login.server}`);
        table(me.accounts, ['namespace', 'name', 'role']);
      });
    }));
}
