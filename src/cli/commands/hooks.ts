import type { Command } from 'commander';
import type { CreatedNotificationEndpointT, HookDeliveryT, HookInfoT, NotificationDeliveryT, NotificationEndpointT, ServiceViewT } from '../../api/schemas.ts';
import { api, currentLogin } from '../client.ts';
import { CliError, emit, readStdin, table } from '../output.ts';
import { action } from '../run.ts';
import { appPath } from './apps.ts';
import { resolveAccount } from './tokens.ts';

const collect = (v: string, acc: string[]) => [...acc, v];
const when = (t: string | null | undefined) => (t ? t.replace('T', ' ').slice(0, 19) : '-');

function printHook(h: HookInfoT): void {
  console.log(`Redeploy hook URL:  ${h.url ?? '(ask a developer: viewers cannot see the secret)'}`);
  if (h.secret) {
    console.log(`Secret:             ${h.secret}`);
    console.log('');
    console.log('Set it up:');
    console.log(`  GitHub     Payload URL ${h.signedUrl}, content type application/json, Secret = the secret, event "push"`);
    console.log(`  GitLab     URL ${h.signedUrl}, Secret token = the secret, trigger "Push events"`);
    console.log(`  Bitbucket  URL ${h.signedUrl}, Secret = the secret, trigger "Repository push" (or use the URL with ?key=)`);
    console.log(`  any        curl -X POST -H 'Content-Type: application/json' -d '{"ref":"refs/heads/main"}' '${h.url}'`);
  }
  console.log('');
  console.log(`Refused requests (wrong signature or secret): ${h.failedAuthCount}${h.lastFailedAuthAt ? `, last ${when(h.lastFailedAuthAt)}: ${h.lastFailedAuthReason}` : ''}`);
  console.log(`Last delivery: ${when(h.lastDeliveryAt)}`);
  if (h.polling.length) {
    console.log('Polling:');
    table(h.polling.map((p) => ({ service: p.service, branch: p.branch, every: `${p.everySeconds}s`, polled: when(p.lastPolledAt), head: p.lastCommit?.slice(0, 7), error: p.lastError })), ['service', 'branch', 'every', 'polled', 'head', 'error']);
  }
}

/** `buildgrid hooks …` (redeploy hooks and polling) and `buildgrid notifications …` (outgoing, signed). */
export function registerHookCommands(program: Command): void {
  const hooks = program.command('hooks').description('redeploy hooks: build on git push (GitHub, GitLab, Bitbucket, any POST) and polling');
  hooks.command('show <app>')
    .description("the application's redeploy hook URL and secret, and how many requests it refused")
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--json', 'machine-readable output')
    .action(action(async (app: string, opts: { account?: string; json?: boolean }) => {
      const login = currentLogin();
      const { path } = await appPath(login, app, opts.account);
      const h = await api<HookInfoT>(login, 'GET', `${path}/hook`);
      emit(opts, h, () => printHook(h));
    }));
  hooks.command('rotate <app>')
    .description('give the hook a new secret; the old URL and secret stop working at once')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--json', 'machine-readable output')
    .action(action(async (app: string, opts: { account?: string; json?: boolean }) => {
      const login = currentLogin();
      const { path } = await appPath(login, app, opts.account);
      const h = await api<HookInfoT>(login, 'POST', `${path}/hook/rotate`);
      emit(opts, h, () => printHook(h));
    }));
  hooks.command('deliveries <app>')
    .description('what the hook received, newest first')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'machine-readable output')
    .action(action(async (app: string, opts: { account?: string; limit: string; json?: boolean }) => {
      const login = currentLogin();
      const { path } = await appPath(login, app, opts.account);
      const list = await api<HookDeliveryT[]>(login, 'GET', `${path}/hook/deliveries?limit=${Number(opts.limit) || 20}`);
      emit(opts, list, () => table(list.map((d) => ({ when: when(d.createdAt), from: `${d.provider} ${d.event}`, status: d.status, branch: d.branch, commit: d.commit?.slice(0, 7), message: d.message.slice(0, 80) })), ['when', 'from', 'status', 'branch', 'commit', 'message']));
    }));
  hooks.command('poll <app> <service>')
    .description('poll the service\'s branch (git ls-remote) for repositories that cannot send webhooks')
    .option('--every <seconds>', 'interval, at least 30 seconds')
    .option('--off', 'stop polling')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--json', 'machine-readable output')
    .action(action(async (app: string, service: string, opts: { every?: string; off?: boolean; account?: string; json?: boolean }) => {
      if (Boolean(opts.every) === Boolean(opts.off)) throw new CliError('say how often, or stop', 'pass --every SECONDS or --off');
      const seconds = opts.off ? null : Number(opts.every);
      if (seconds !== null && (!Number.isInteger(seconds) || seconds < 30)) throw new CliError(`invalid interval "${opts.every}"`, 'use a whole number of seconds, at least 30');
      const login = currentLogin();
      const { path } = await appPath(login, app, opts.account);
      const s = await api<ServiceViewT>(login, 'PATCH', `${path}/services/${encodeURIComponent(service)}`, { pollIntervalSeconds: seconds });
      emit(opts, s, () => console.log(seconds === null ? `Stopped polling ${s.name}.` : `Polling ${s.name} (${s.branch}) every ${seconds}s; new commits are built.`));
    }));

  const n = program.command('notifications').description('signed HTTP notifications when builds and deployments start and finish');
  n.command('add <url>')
    .description('send notifications to URL (POST, JSON, signed with X-BuildGrid-Signature-256)')
    .option('--event <event>', 'build.queued|build.started|build.succeeded|build.failed|deployment.succeeded|deployment.failed (repeatable; default all)', collect, [] as string[])
    .option('--secret-stdin', 'read the signing secret from stdin (default: generated)')
    .option('--description <text>', 'what it is for')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--json', 'machine-readable output')
    .action(action(async (url: string, opts: { event: string[]; secretStdin?: boolean; description?: string; account?: string; json?: boolean }) => {
      const login = currentLogin();
      const ns = await resolveAccount(login, opts.account);
      const secret = opts.secretStdin ? await readStdin() : undefined;
      const e = await api<CreatedNotificationEndpointT>(login, 'POST', `/accounts/${encodeURIComponent(ns)}/notifications`, {
        url, events: opts.event.length ? opts.event : undefined, secret, description: opts.description,
      });
      emit(opts, e, () => {
        console.log(`Added notification endpoint ${e.id}: ${e.url} (${e.events.join(', ')})`);
        console.log(`Signing secret: ${e.secret}   (shown once; verify X-BuildGrid-Signature-256 = sha256=HMAC-SHA256(secret, body))`);
      });
    }));
  n.command('list')
    .description('notification endpoints of an account')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: { account?: string; json?: boolean }) => {
      const login = currentLogin();
      const ns = await resolveAccount(login, opts.account);
      const list = await api<NotificationEndpointT[]>(login, 'GET', `/accounts/${encodeURIComponent(ns)}/notifications`);
      emit(opts, list, () => table(list.map((e) => ({ id: e.id, url: e.url, events: e.events.join(','), description: e.description, created: when(e.createdAt) })), ['id', 'url', 'events', 'description', 'created']));
    }));
  n.command('remove <id>')
    .description('stop sending to an endpoint (its delivery log goes too)')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--json', 'machine-readable output')
    .action(action(async (id: string, opts: { account?: string; json?: boolean }) => {
      const login = currentLogin();
      const ns = await resolveAccount(login, opts.account);
      await api(login, 'DELETE', `/accounts/${encodeURIComponent(ns)}/notifications/${encodeURIComponent(id)}`);
      emit(opts, { id, removed: true }, () => console.log(`Removed notification endpoint ${id}.`));
    }));
  n.command('deliveries')
    .description('notifications sent, with each attempt\'s response code, newest first')
    .option('--endpoint <id>', 'only this endpoint')
    .option('--limit <n>', 'how many', '20')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: { endpoint?: string; limit: string; account?: string; json?: boolean }) => {
      const login = currentLogin();
      const ns = await resolveAccount(login, opts.account);
      const q = new URLSearchParams({ limit: String(Number(opts.limit) || 20), ...(opts.endpoint ? { endpoint: opts.endpoint } : {}) });
      const list = await api<NotificationDeliveryT[]>(login, 'GET', `/accounts/${encodeURIComponent(ns)}/notifications/deliveries?${q}`);
      emit(opts, list, () => table(list.map((d) => ({
        id: d.id, event: d.event, status: d.status, codes: d.attempts.map((a) => a.statusCode ?? 'err').join(',') || '-',
        next: d.status === 'pending' ? when(d.nextAttemptAt) : '-', error: d.status === 'succeeded' ? '' : d.lastError, created: when(d.createdAt),
      })), ['id', 'event', 'status', 'codes', 'next', 'error', 'created']));
    }));
  n.command('redeliver <delivery>')
    .description('send a notification again (same payload, new delivery id)')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--json', 'machine-readable output')
    .action(action(async (id: string, opts: { account?: string; json?: boolean }) => {
      const login = currentLogin();
      const ns = await resolveAccount(login, opts.account);
      const d = await api<NotificationDeliveryT>(login, 'POST', `/accounts/${encodeURIComponent(ns)}/notifications/deliveries/${encodeURIComponent(id)}/redeliver`);
      emit(opts, d, () => console.log(`Queued delivery ${d.id} (again of ${id}). See it with: buildgrid notifications deliveries`));
    }));
}
