import type { Command } from 'commander';
import type {
  LifecycleRunDetailT, LifecycleRunT, PolicyReplyT, RetentionPolicyT, RetentionReportT, TrashEntryT, UsageReportT, UsageRowT,
} from '../../api/schemas.ts';
import { api, currentLogin, type CliLogin } from '../client.ts';
import { CliError, emit, fmtBytes, table } from '../output.ts';
import { action } from '../run.ts';
import { appPath } from './apps.ts';
import { resolveAccount } from './tokens.ts';

/*
 * Retention, the trash, storage usage, garbage collection and fsck. Every command goes through the server's API:
 * a collection runs inside the process that owns the store, online, and the CLI polls the run until it ends.
 */

/** The API path of an application, or of the account when APP is left out. */
async function scopePath(login: CliLogin, app: string | undefined, account: string | undefined): Promise<{ path: string; label: string; ns: string }> {
  if (app) {
    const { ns, slug, path } = await appPath(login, app, account);
    return { path, label: `${ns}/${slug}`, ns };
  }
  const ns = await resolveAccount(login, account);
  return { path: `/accounts/${encodeURIComponent(ns)}`, label: `${ns} (account default)`, ns };
}

/** Polls a lifecycle run until it ends; resolves to it with its report. */
async function waitRun(login: CliLogin, id: string, quiet: boolean): Promise<LifecycleRunDetailT> {
  let dots = 0;
  for (;;) {
    const run = await api<LifecycleRunDetailT>(login, 'GET', `/admin/lifecycle/runs/${encodeURIComponent(id)}`);
    if (run.status !== 'running') {
      if (!quiet && dots > 0) process.stderr.write('\n');
      return run;
    }
    if (!quiet && process.stderr.isTTY) process.stderr.write(dots++ === 0 ? `run ${id} in progress ` : '.');
    await new Promise((r) => setTimeout(r, 500));
  }
}

const policyText = (p: Pick<RetentionPolicyT, 'keepLastPerBranch' | 'keepNewerThanDays' | 'keepPulledWithinDays' | 'graceDays' | 'enabled'>) => [
  p.keepLastPerBranch !== null ? `keep the last ${p.keepLastPerBranch} per branch` : null,
  p.keepNewerThanDays !== null ? `keep images newer than ${p.keepNewerThanDays} days` : null,
  `always keep deployed images${p.keepPulledWithinDays > 0 ? ` and images pulled within ${p.keepPulledWithinDays} days` : ''}`,
  `restorable for ${p.graceDays} days`,
  p.enabled ? null : '(disabled)',
].filter(Boolean).join('; ');

function printRetention(r: RetentionReportT): void {
  const verb = r.dryRun ? 'would remove' : 'removed';
  const going = r.applications.flatMap((a) => a.decisions.filter((d) => d.status !== 'kept').map((d) => ({ app: `${a.namespace}/${a.application}`, ...d })));
  table(going.map((d) => ({
    app: d.app, image: d.images[0] ?? `${d.repository}@${d.digest.slice(0, 19)}`, branch: d.branch ?? '-', produced: d.producedAt.slice(0, 19).replace('T', ' '),
    size: fmtBytes(d.bytes), status: d.status === 'skipped' ? `skipped: ${d.skippedReason}` : d.status, restore: d.trashId ?? '-',
  })), ['app', 'image', 'branch', 'produced', 'size', 'status', 'restore']);
  for (const a of r.applications.filter((x) => !x.policy)) console.log(`${a.namespace}/${a.application}: no retention policy, nothing removed`);
  const t = r.totals;
  console.log(`Retention ${verb} ${t.removed} of ${t.images} images (${fmtBytes(t.bytesFreed)} once collected), kept ${t.kept}${t.skipped ? `, skipped ${t.skipped} that changed meanwhile` : ''}.`);
}

function usageTable(rows: UsageRowT[]): void {
  table(rows.map((u) => ({ name: u.name, unique: fmtBytes(u.uniqueBytes), shared: fmtBytes(u.sharedBytes), total: fmtBytes(u.totalBytes), trash: fmtBytes(u.trashBytes), manifests: u.manifests, blobs: u.blobs })),
    ['name', 'unique', 'shared', 'total', 'trash', 'manifests', 'blobs']);
}

/** gc, fsck, retention, trash, usage. */
export function registerLifecycleCommands(program: Command): void {
  const gc = program.command('gc')
    .description('administrators: apply retention policies, then collect unreferenced blobs (online; pulls and builds go on)')
    .option('--dry-run', 'only report what would be removed and freed')
    .option('--skip-retention', 'collect garbage without applying retention policies first')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: { dryRun?: boolean; skipRetention?: boolean; json?: boolean }) => {
      const login = currentLogin();
      const started = await api<LifecycleRunT>(login, 'POST', '/admin/gc', { dryRun: Boolean(opts.dryRun), retention: !opts.skipRetention });
      const run = await waitRun(login, started.id, Boolean(opts.json));
      emit(opts, run, () => {
        const report = run.report as { retention: RetentionReportT | null; gc: { blobs: { deleted: number; bytesFreed: number; bytesBefore: number; bytesAfter: number }; links: { deleted: number }; trashPurged: number } } | null;
        if (report?.retention) printRetention(report.retention);
        if (report?.gc) {
          const g = report.gc;
          console.log(`${run.dryRun ? 'Would collect' : 'Collected'} ${g.blobs.deleted} blobs, ${fmtBytes(g.blobs.bytesFreed)} (store ${fmtBytes(g.blobs.bytesBefore)} → ${fmtBytes(g.blobs.bytesAfter)}); ${g.links.deleted} stale links, ${g.trashPurged} removed images past their grace window.`);
        }
      });
      if (run.status !== 'succeeded') throw new CliError(`garbage collection ${run.status}: ${run.error ?? 'see the server log'}`, 'run it again; an interrupted run leaves nothing half-done');
    }));
  gc.command('history')
    .description('past garbage collections, retention runs and fsck runs')
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'machine-readable output')
    .action(action(async (_o: object, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{ limit: string; json?: boolean }>(); // `gc history --json`: gc's own --json takes it
      const runs = await api<LifecycleRunT[]>(currentLogin(), 'GET', `/admin/lifecycle/runs?limit=${Number(opts.limit) || 20}`);
      emit(opts, runs, () => table(runs.map((r) => {
        const g = (r.summary?.gc ?? {}) as { blobsDeleted?: number; bytesFreed?: number };
        const ret = (r.summary?.retention ?? {}) as { removed?: number };
        return {
          id: r.id, kind: r.kind + (r.dryRun ? ' (dry run)' : ''), started: r.startedAt.slice(0, 19).replace('T', ' '), status: r.status, by: `${r.trigger}:${r.requestedBy}`,
          result: r.error ?? (r.kind === 'fsck' ? `${r.summary?.problems ?? '?'} problems` : `${ret.removed ?? 0} images, ${g.blobsDeleted ?? 0} blobs, ${fmtBytes(g.bytesFreed ?? 0)} freed`),
        };
      }), ['id', 'kind', 'started', 'status', 'by', 'result']));
    }));

  program.command('fsck')
    .description('administrators: re-hash every blob, check every manifest and tag; exit 0 healthy, 1 repaired, 2 problems remain')
    .option('--repair', 'quarantine corrupt blobs, move broken images to the trash, drop dangling tags and links')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: { repair?: boolean; json?: boolean }) => {
      const login = currentLogin();
      const started = await api<LifecycleRunT>(login, 'POST', '/admin/fsck', { repair: Boolean(opts.repair) });
      const run = await waitRun(login, started.id, Boolean(opts.json));
      if (run.status !== 'succeeded') throw new CliError(`fsck ${run.status}: ${run.error ?? 'see the server log'}`, 'run it again');
      const report = (run.report as { fsck: { exitCode: number; healthy: boolean; checked: Record<string, number>; problems: Array<{ kind: string; repository?: string; digest?: string; tag?: string; detail: string; repaired?: string }> } }).fsck;
      emit(opts, report, () => {
        if (report.problems.length > 0) {
          table(report.problems.map((p) => ({ problem: p.kind, where: [p.repository, p.tag ?? p.digest?.slice(0, 19)].filter(Boolean).join(' ') || '-', detail: p.detail, repaired: p.repaired ?? (opts.repair ? 'NOT REPAIRED' : '-') })),
            ['problem', 'where', 'detail', 'repaired']);
        }
        const c = report.checked;
        console.log(`Checked ${c.blobs} blobs (${fmtBytes(c.bytes ?? 0)}), ${c.manifests} manifests, ${c.links} links, ${c.trashEntries} removed images.`);
        console.log(report.healthy ? 'The store is healthy.' : report.exitCode === 1 ? `${report.problems.length} problems found, all repaired.` : `${report.problems.filter((p) => !p.repaired).length} problems${opts.repair ? ' remain' : ' found; `buildgrid fsck --repair` fixes what can be fixed'}.`);
      });
      process.exitCode = report.exitCode;
    }));

  const retention = program.command('retention').description('retention policies: which images of an application are kept');
  retention.command('show [app]')
    .description("an application's policy and the one in force (without APP: the account default)")
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--json', 'machine-readable output')
    .action(action(async (app: string | undefined, opts: { account?: string; json?: boolean }) => {
      const login = currentLogin();
      const { path, label } = await scopePath(login, app, opts.account);
      const r = await api<PolicyReplyT>(login, 'GET', `${path}/retention`);
      emit(opts, r, () => {
        console.log(`${label}: ${r.policy ? policyText(r.policy) : 'no policy of its own'}`);
        if (app) console.log(r.effective ? `in force (${r.effective.source === 'account' ? 'account default' : 'its own'}): ${policyText(r.effective)}` : 'in force: none (nothing is removed)');
      });
    }));
  retention.command('set [app]')
    .description('set the policy of an application (without APP: the account default); owners')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--keep-last <n>', 'keep the newest N images of every branch')
    .option('--keep-days <d>', 'keep images newer than D days')
    .option('--pulled-days <p>', 'always keep images pulled within P days (default 30; 0: off)')
    .option('--grace-days <g>', 'removed images stay restorable G days (default 7)')
    .option('--disable', 'keep the policy but stop applying it')
    .option('--json', 'machine-readable output')
    .action(action(async (app: string | undefined, opts: { account?: string; keepLast?: string; keepDays?: string; pulledDays?: string; graceDays?: string; disable?: boolean; json?: boolean }) => {
      const login = currentLogin();
      const { path, label } = await scopePath(login, app, opts.account);
      const num = (v: string | undefined, what: string) => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isFinite(n)) throw new CliError(`invalid ${what} "${v}"`, 'use a number');
        return n;
      };
      const p = await api<RetentionPolicyT>(login, 'PUT', `${path}/retention`, {
        keepLastPerBranch: num(opts.keepLast, '--keep-last') ?? null, keepNewerThanDays: num(opts.keepDays, '--keep-days') ?? null,
        keepPulledWithinDays: num(opts.pulledDays, '--pulled-days'), graceDays: num(opts.graceDays, '--grace-days'), enabled: !opts.disable,
      });
      emit(opts, p, () => console.log(`${label}: ${policyText(p)}.\nPreview with: buildgrid retention run ${app ?? ''} --dry-run`));
    }));
  retention.command('unset [app]')
    .description('remove the policy of an application (it falls back to the account default) or the account default')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--json', 'machine-readable output')
    .action(action(async (app: string | undefined, opts: { account?: string; json?: boolean }) => {
      const login = currentLogin();
      const { path, label } = await scopePath(login, app, opts.account);
      await api(login, 'DELETE', `${path}/retention`);
      emit(opts, { removed: true }, () => console.log(`${label}: policy removed.`));
    }));
  retention.command('run [app]')
    .description('apply the policy now to an application (without APP: every application of the account); --dry-run shows what would go')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--dry-run', 'change nothing; list the images that would be removed and the bytes freed')
    .option('--json', 'machine-readable output')
    .action(action(async (app: string | undefined, opts: { account?: string; dryRun?: boolean; json?: boolean }) => {
      const login = currentLogin();
      const { path } = await scopePath(login, app, opts.account);
      const r = await api<RetentionReportT>(login, 'POST', `${path}/retention/run`, { dryRun: Boolean(opts.dryRun) });
      emit(opts, r, () => printRetention(r));
    }));

  const trash = program.command('trash').description('images removed by retention, restorable during their grace window')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--app <app>', 'only this application')
    .option('--all', 'also restored and purged images')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: { account?: string; app?: string; all?: boolean; json?: boolean }) => {
      const login = currentLogin();
      const ns = await resolveAccount(login, opts.account);
      const q = new URLSearchParams({ ...(opts.app ? { app: opts.app } : {}), ...(opts.all ? { all: 'true' } : {}) });
      const list = await api<TrashEntryT[]>(login, 'GET', `/accounts/${encodeURIComponent(ns)}/trash?${q}`);
      emit(opts, list, () => table(list.map((e) => ({
        id: e.id, image: e.images[0] ?? `${e.repository}@${e.digest.slice(0, 19)}`, reason: e.reason, removed: e.removedAt.slice(0, 19).replace('T', ' '),
        until: e.state === 'removed' ? e.expiresAt.slice(0, 19).replace('T', ' ') : e.state, size: fmtBytes(e.bytes),
      })), ['id', 'image', 'reason', 'removed', 'until', 'size']));
    }));
  trash.command('restore <id>')
    .description('put a removed image back (its tag comes back)')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--json', 'machine-readable output')
    .action(action(async (id: string, opts: { account?: string; json?: boolean }) => {
      const login = currentLogin();
      const ns = await resolveAccount(login, opts.account);
      const e = await api<TrashEntryT>(login, 'POST', `/accounts/${encodeURIComponent(ns)}/trash/${encodeURIComponent(id)}/restore`);
      emit(opts, e, () => console.log(`Restored ${e.images.join(', ') || `${e.repository}@${e.digest}`}`));
    }));

  program.command('usage [app]')
    .description('storage used by an account, its applications and repositories (unique and shared bytes)')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--all-accounts', 'administrators: every account and the whole store')
    .option('--json', 'machine-readable output')
    .action(action(async (app: string | undefined, opts: { account?: string; allAccounts?: boolean; json?: boolean }) => {
      const login = currentLogin();
      if (opts.allAccounts) {
        const u = await api<UsageReportT>(login, 'GET', '/admin/usage');
        return emit(opts, u, () => {
          usageTable([...u.accounts, ...u.applications]);
          if (u.store) console.log(`Store: ${u.store.blobs} blobs, ${fmtBytes(u.store.bytes)} (${fmtBytes(u.store.trashBytes)} held by removed images, ${fmtBytes(u.store.unreferencedBytes)} collectable).`);
        });
      }
      if (app) {
        const { path } = await appPath(login, app, opts.account);
        const u = await api<{ application: UsageRowT; repositories: UsageRowT[] }>(login, 'GET', `${path}/usage`);
        return emit(opts, u, () => usageTable([u.application, ...u.repositories]));
      }
      const ns = await resolveAccount(login, opts.account);
      const u = await api<UsageReportT>(login, 'GET', `/accounts/${encodeURIComponent(ns)}/usage`);
      emit(opts, u, () => usageTable([...u.accounts, ...u.applications, ...u.repositories]));
    }));
}
