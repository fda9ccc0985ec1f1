import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { pino } from 'pino';
import { createGitFetcher } from '../../builds/git/fetcher.ts';
import { createBuildahEngine } from '../../builds/engines/buildah.ts';
import { createDockerEngine } from '../../builds/engines/docker.ts';
import { startRemoteWorker } from '../../builds/remote/worker.ts';
import { api, currentLogin } from '../client.ts';
import { CliError, emit, table } from '../output.ts';
import { action } from '../run.ts';

interface WorkerTokenRow { id: string; name: string; createdBy: string; createdAt: string; lastUsedAt: string | null; revokedAt: string | null }

/** `buildgrid worker` (a remote build worker) and `buildgrid workers tokens …` (their credentials, administrators only). */
export function registerWorkerCommands(program: Command): void {
  program
    .command('worker')
    .description('run builds for a BuildGrid server on this machine (git and buildah here; logs and images go to the server)')
    .option('--server <url>', 'the server or the cluster address (BUILDGRID_SERVER)')
    .option('--token <token>', 'a worker token from `buildgrid workers tokens create` (BUILDGRID_WORKER_TOKEN)')
    .option('--concurrency <n>', 'builds at once (default: one per CPU core)')
    .option('--work-dir <dir>', 'git mirrors, checkouts and the layer cache (default ./worker)')
    .option('--engine <engine>', 'buildah (default) or docker')
    .option('--docker-host <url>', 'Docker Engine socket for --engine docker')
    .option('--allow-local-git', 'allow file:// git URLs (tests)')
    .action(action(async (opts: { server?: string; token?: string; concurrency?: string; workDir?: string; engine?: string; dockerHost?: string; allowLocalGit?: boolean }) => {
      const env = process.env;
      const server = opts.server ?? env.BUILDGRID_SERVER;
      const token = opts.token ?? env.BUILDGRID_WORKER_TOKEN;
      if (!server || !token) throw new CliError('a worker needs --server and --token', 'an administrator creates tokens with `buildgrid workers tokens create NAME`');
      const concurrency = Number(opts.concurrency ?? env.BUILDGRID_WORKER_CONCURRENCY ?? cpus().length);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new CliError(`invalid --concurrency ${opts.concurrency}`, 'use a whole number from 1 to 64');
      const workDir = resolve(opts.workDir ?? env.BUILDGRID_WORKER_DIR ?? './worker');
      const engineName = opts.engine ?? env.BUILDGRID_BUILD_ENGINE ?? 'buildah';
      if (engineName !== 'buildah' && engineName !== 'docker') throw new CliError(`unknown engine ${engineName}`, 'use buildah or docker');
      const engine = engineName === 'docker'
        ? createDockerEngine({ host: opts.dockerHost ?? env.BUILDGRID_DOCKER_HOST ?? 'unix:///var/run/docker.sock' })
        : createBuildahEngine({ workDir: join(workDir, 'buildah') });
      const log = pino({ level: env.BUILDGRID_LOG_LEVEL ?? 'info' });
      await engine.check();
      const allowLocal = opts.allowLocalGit ?? ['1', 'true'].includes(env.BUILDGRID_ALLOW_LOCAL_GIT ?? '');
      const git = createGitFetcher({ cacheDir: join(workDir, 'git'), allowLocal });
      const worker = await startRemoteWorker({ server, token, concurrency, workDir, engine, git, onError: (err) => log.error({ err }, 'build worker error') });
      log.info({ worker: worker.id, server, concurrency, engine: engine.name }, `worker ${worker.id} is taking builds from ${server}`);
      const stop = async (signal: string) => {
        log.info({ signal }, 'stopping: running builds are left to be reclaimed by another worker');
        await worker.stop({ abandon: true });
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    }));

  const tokens = program.command('workers').description('remote build workers').command('tokens').description('worker tokens (administrators only)');
  tokens
    .command('create <name>')
    .description('create a worker token (shown once)')
    .option('--json', 'machine-readable output')
    .action(action(async (name: string, opts: { json?: boolean }) => {
      const r = await api<{ token: string; workerToken: WorkerTokenRow }>(currentLogin(), 'POST', '/admin/worker-tokens', { name });
      emit(opts, r, () => {
        console.log(`Worker token ${r.workerToken.name} (${r.workerToken.id}):\n\n  ${r.token}\n`);
        console.log('It is shown only now. Start a worker with: buildgrid worker --server URL --token <token>');
      });
    }));
  tokens
    .command('list')
    .description('list worker tokens')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: { json?: boolean }) => {
      const rows = await api<WorkerTokenRow[]>(currentLogin(), 'GET', '/admin/worker-tokens');
      emit(opts, rows, () => table(rows.map((t) => ({ id: t.id, name: t.name, created: t.createdAt, 'last used': t.lastUsedAt ?? '-', revoked: t.revokedAt ?? '-' })), ['id', 'name', 'created', 'last used', 'revoked']));
    }));
  tokens
    .command('revoke <id>')
    .description('revoke a worker token (its workers are refused from their next request)')
    .action(action(async (id: string) => {
      await api(currentLogin(), 'DELETE', `/admin/worker-tokens/${encodeURIComponent(id)}`);
      console.log(`Revoked worker token ${id}.`);
    }));
}
