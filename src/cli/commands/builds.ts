import type { Command } from 'commander';
import type { BuildViewT, DeployReplyT, ImageRowT, LogLineT, TimelineEntryT } from '../../api/schemas.ts';
import { api, currentLogin, type CliLogin } from '../client.ts';
import { CliError, emit, fmtBytes, table } from '../output.ts';
import { action } from '../run.ts';
import { followSse } from '../sse.ts';
import { appPath } from './apps.ts';

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
const ICON: Record<string, string> = { queued: '…', fetching: '↓', building: '⚙', pushing: '↑', succeeded: '✔', failed: '✘', cancelled: '⊘', running: '…' };
const dur = (ms: number | null) => (ms === null ? '-' : ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`);

/** A build's status for people: a queued build says where it stands (`queued #2, ~1m30s`: 2nd in line, starts in about 1m30s). */
export function statusText(b: Pick<BuildViewT, 'status' | 'queue'>): string {
  const q = b.queue;
  if (b.status !== 'queued' || !q) return b.status;
  return `queued #${q.position}${q.estimatedWaitSeconds === null ? '' : `, ~${q.estimatedWaitSeconds === 0 ? 'now' : dur(q.estimatedWaitSeconds * 1000)}`}`;
}

function printLine(l: LogLineT): void {
  if (l.phase) process.stdout.write(`\n── ${l.phase.toUpperCase()} ── ${l.text}\n`);
  else process.stdout.write(`${l.text}\n`);
}

/**
 * Polls builds until all are final, printing each status change; resolves to their final views. Every 250 ms for the
 * first two minutes (a finished build is reported at once), then every second.
 */
async function waitFor(login: CliLogin, ids: string[], quiet: boolean): Promise<BuildViewT[]> {
  const last = new Map<string, string>();
  const started = Date.now();
  for (;;) {
    const views = await Promise.all(ids.map((id) => api<BuildViewT>(login, 'GET', `/builds/${id}`)));
    for (const v of views) {
      if (last.get(v.id) !== v.status) {
        last.set(v.id, v.status);
        if (!quiet) process.stderr.write(`${ICON[v.status] ?? '·'} ${(v.serviceName ?? v.serviceId).padEnd(16)} ${statusText(v).padEnd(9)} ${v.shortCommit ?? ''}${v.status === 'failed' && v.error ? `  ${v.error}` : ''}\n`);
      }
    }
    if (views.every((v) => FINAL.has(v.status))) return views;
    await new Promise((r) => setTimeout(r, Date.now() - started < 120_000 ? 250 : 1000));
  }
}

/** deploy, builds, logs, timeline, images. */
export function registerBuildCommands(program: Command): void {
  program.command('deploy <app>')
    .description('build every service of the application at the head of its branch')
    .option('--branch <branch>', 'build this branch for every service')
    .option('--service <name>', 'only these services (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--force', 'build even commits that already have an image')
    .option('--wait', 'wait until the deployment finishes (exit code says how it went)')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--json', 'machine-readable output')
    .action(action(async (app: string, opts: { branch?: string; service: string[]; force?: boolean; wait?: boolean; account?: string; json?: boolean }) => {
      const login = currentLogin();
      const { path } = await appPath(login, app, opts.account);
      const r = await api<DeployReplyT>(login, 'POST', `${path}/deploy`, { branch: opts.branch, services: opts.service.length ? opts.service : undefined, force: opts.force });
      if (!opts.json) {
        process.stderr.write(`Deployment ${r.deployment.id} started\n`);
        for (const b of r.builds) process.stderr.write(`  ${b.serviceName}: ${b.status === 'succeeded' ? `already built ${b.image}` : `build ${b.id} (${b.status})`}\n`);
      }
      if (!opts.wait) return emit(opts, r, () => console.log(`Follow with: buildgrid logs -f ${r.builds[0]?.id ?? ''}`));
      const final = await waitFor(login, r.builds.map((b) => b.id), Boolean(opts.json));
      const failed = final.filter((b) => b.status !== 'succeeded');
      emit(opts, { deployment: { ...r.deployment, status: failed.length ? 'failed' : 'succeeded' }, builds: final }, () => {
        if (!failed.length) {
          console.log('Application Deployed');
          table(final.map((b) => ({ service: b.serviceName, branch: b.branch, commit: b.shortCommit, image: b.image })), ['service', 'branch', 'commit', 'image']);
        }
      });
      if (failed.length) throw new CliError(`deployment failed: ${failed.map((b) => `${b.serviceName} ${b.status}${b.error ? ` (${b.error})` : ''}`).join('; ')}`, `see the log: buildgrid logs ${failed[0]!.id}`);
    }));

  const builds = program.command('builds').description('builds of an application; rebuild or cancel one')
    .argument('[app]', 'application (ns/app or app)')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'machine-readable output')
    .action(action(async (app: string | undefined, opts: { account?: string; limit: string; json?: boolean }) => {
      if (!app) throw new CliError('which application?', 'run `buildgrid builds APP`, or `buildgrid builds rebuild|cancel BUILD`');
      const login = currentLogin();
      const { path } = await appPath(login, app, opts.account);
      const list = await api<BuildViewT[]>(login, 'GET', `${path}/builds?limit=${Number(opts.limit) || 20}`);
      emit(opts, list, () => table(list.map((b) => ({ id: b.id, service: b.serviceName, status: `${ICON[b.status] ?? ''} ${statusText(b)}`, branch: b.branch, commit: b.shortCommit, trigger: `${b.trigger}:${b.triggeredBy}`, duration: dur(b.durationMs) })), ['id', 'service', 'status', 'branch', 'commit', 'trigger', 'duration']));
    }));
  builds.command('show <build>')
    .description('one build: status, commit, image, and its base images (every FROM, resolved, with the digest used)')
    .option('--json', 'machine-readable output')
    .action(action(async (id: string, own: { json?: boolean }, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{ json?: boolean }>(); // `builds` has --json too and takes it wherever it appears
      const b = await api<BuildViewT>(currentLogin(), 'GET', `/builds/${encodeURIComponent(id)}`);
      emit({ json: own.json ?? opts.json }, b, () => {
        console.log(`Build ${b.id}  ${ICON[b.status] ?? ''} ${statusText(b)}  ${b.serviceName ?? b.serviceId}  ${b.branch}@${b.shortCommit ?? '-'}  ${dur(b.durationMs)}`);
        if (b.image) console.log(`Image ${b.image}${b.imageDigest ? `@${b.imageDigest}` : ''}`);
        if (b.error) console.log(`Error ${b.error}`);
        if (b.baseImages.length === 0) return void console.log('Base images: none recorded');
        console.log('Base images:');
        table(b.baseImages.map((x) => ({ stage: x.stage, from: x.written, resolved: x.resolved ?? '(not a valid reference)', digest: x.digest ?? '-' })), ['stage', 'from', 'resolved', 'digest']);
      });
    }));
  builds.command('rebuild <build>')
    .description('build the same service and commit again, even though the image exists')
    .option('--json', 'machine-readable output')
    .action(action(async (id: string, opts: { json?: boolean }) => {
      const b = await api<BuildViewT>(currentLogin(), 'POST', `/builds/${encodeURIComponent(id)}/rebuild`);
      emit(opts, b, () => console.log(`Queued build ${b.id} (rebuild of ${id}). Follow with: buildgrid logs -f ${b.id}`));
    }));
  builds.command('cancel <build>')
    .description('cancel a queued or running build')
    .option('--json', 'machine-readable output')
    .action(action(async (id: string, opts: { json?: boolean }) => {
      const b = await api<BuildViewT>(currentLogin(), 'POST', `/builds/${encodeURIComponent(id)}/cancel`);
      emit(opts, b, () => console.log(b.status === 'cancelled' ? `Cancelled build ${id}.` : `Cancelling build ${id} (it stops within seconds).`));
    }));

  program.command('logs <build>')
    .description('print a build log; -f follows it live until the build ends')
    .option('-f, --follow', 'follow live')
    .option('--json', 'machine-readable output (JSON lines)')
    .action(action(async (id: string, opts: { follow?: boolean; json?: boolean }) => {
      const login = currentLogin();
      const out = (l: LogLineT) => (opts.json ? process.stdout.write(`${JSON.stringify(l)}\n`) : printLine(l));
      if (!opts.follow) {
        const r = await api<{ lines: LogLineT[]; status: string }>(login, 'GET', `/builds/${encodeURIComponent(id)}/log`);
        r.lines.forEach(out);
        return;
      }
      let status = 'unknown';
      await followSse(login, `/builds/${encodeURIComponent(id)}/log/stream`, (e) => {
        if (e.event === 'line') out(e.data as LogLineT);
        if (e.event === 'end') status = (e.data as { status: string }).status;
      });
      if (!opts.json) process.stderr.write(`\nBuild ${status}.\n`);
      if (status === 'failed') process.exitCode = 1;
    }));

  program.command('timeline <app>')
    .description('deployments and builds of an application, newest first')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--json', 'machine-readable output')
    .action(action(async (app: string, opts: { account?: string; json?: boolean }) => {
      const login = currentLogin();
      const { path } = await appPath(login, app, opts.account);
      const list = await api<TimelineEntryT[]>(login, 'GET', `${path}/timeline`);
      emit(opts, list, () => table(list.map((e) => ({
        when: e.startedAt.replace('T', ' ').slice(0, 19), what: e.title, status: `${ICON[e.status] ?? ''} ${e.status}`, branch: e.branch,
        commit: e.shortCommit ? `${e.shortCommit} ${(e.commitMessage ?? '').slice(0, 30)}` : '-', by: `${e.trigger}:${e.triggeredBy}`,
        took: dur(e.durationMs), image: e.image ?? (e.imageRemoved ? `removed by ${e.imageRemoved.reason}` : null) ?? (e.services ? e.services.map((s) => `${s.service}=${s.commit?.slice(0, 7) ?? '-'}`).join(' ') : '-'),
      })), ['when', 'what', 'status', 'branch', 'commit', 'by', 'took', 'image']));
    }));

  program.command('images <app>')
    .description('image URLs, digests and sizes of an application')
    .option('--account <namespace>', 'the account (default: your only account)')
    .option('--json', 'machine-readable output')
    .action(action(async (app: string, opts: { account?: string; json?: boolean }) => {
      const login = currentLogin();
      const { path } = await appPath(login, app, opts.account);
      const list = await api<ImageRowT[]>(login, 'GET', `${path}/images`);
      emit(opts, list, () => table(list.map((i) => ({ service: i.service, image: i.image, digest: i.digest?.slice(0, 19) ?? '-', size: i.size ? fmtBytes(i.size) : '-', built: i.builtAt?.slice(0, 19) ?? '-' })), ['service', 'image', 'digest', 'size', 'built']));
    }));
}
