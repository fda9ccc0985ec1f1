import { readFile, stat } from 'node:fs/promises';
import { lookup } from 'node:dns/promises';
import { cpus } from 'node:os';
import { z } from 'zod';
import { sandboxPolicy } from '../../app/builds.ts';
import type { SandboxPolicy } from '../../builds/engines/sandbox.ts';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { pino } from 'pino';
import { createBuildahEngine } from '../../builds/engines/buildah.ts';
import { createDockerEngine } from '../../builds/engines/docker.ts';
import { startRemoteWorker, workerGitFetcher } from '../../builds/remote/worker.ts';
import { api, currentLogin } from '../client.ts';
import { CliError, emit, table } from '../output.ts';
import { action } from '../run.ts';

/** The token in `file` (trimmed); a missing, empty or group/world-readable file is an error saying what to do. */
async function readTokenFile(file: string): Promise<string> {
  const st = await stat(file).catch(() => null);
  if (!st?.isFile()) throw new CliError(`token file ${file} not found`, 'write the worker token into it (chmod 600)');
  if ((st.mode & 0o077) !== 0) throw new CliError(`token file ${file} is readable by others (mode ${(st.mode & 0o777).toString(8)})`, `chmod 600 ${file}`);
  const token = (await readFile(file, 'utf8')).trim();
  if (!token) throw new CliError(`token file ${file} is empty`, 'write the worker token from `buildgrid workers tokens create` into it');
  return token;
}

/**
 * The RUN-step sandbox of a remote worker, from the same BUILDGRID_BUILD_* variables the server reads (see
 * src/config/schema.ts), plus the server's own addresses as unreachable from RUN steps.
 */
async function workerSandbox(env: NodeJS.ProcessEnv, server: string): Promise<{ isolation: 'oci' | 'chroot'; sandbox: SandboxPolicy }> {
  const c = workerSandboxSchema.safeParse({
    buildIsolation: env.BUILDGRID_BUILD_ISOLATION, buildNetwork: env.BUILDGRID_BUILD_NETWORK, buildAllowedNetworks: env.BUILDGRID_BUILD_ALLOWED_NETWORKS,
    buildMemoryMb: env.BUILDGRID_BUILD_MEMORY_MB, buildCpus: env.BUILDGRID_BUILD_CPUS, buildPidsLimit: env.BUILDGRID_BUILD_PIDS_LIMIT,
  });
  if (!c.success) throw new CliError(`invalid sandbox setting: ${c.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, 'fix the BUILDGRID_BUILD_* variables (see the README, Configuration)');
  const host = new URL(server).hostname.replace(/^\[|\]$/g, '');
  const addrs = await lookup(host, { all: true }).then((a) => a.map((x) => x.address), () => [] as string[]);
  return { isolation: c.data.buildIsolation, sandbox: { ...sandboxPolicy(c.data), blockedAddresses: addrs } };
}

const workerSandboxSchema = z.object({
  buildIsolation: z.enum(['oci', 'chroot']).default('oci'),
  buildNetwork: z.enum(['isolated', 'none', 'host']).default('isolated'),
  buildAllowedNetworks: z.string().default('').transform((v) => v.split(',').map((x) => x.trim()).filter(Boolean)),
  buildMemoryMb: z.coerce.number().int().min(0).default(4096),
  buildCpus: z.coerce.number().min(0).default(0),
  buildPidsLimit: z.coerce.number().int().min(0).default(2048),
});

interface WorkerTokenRow { id: string; name: string; createdBy: string; createdAt: string; lastUsedAt: string | null; revokedAt: string | null }

/** `buildgrid worker` (a remote build worker) and `buildgrid workers tokens …` (their credentials, administrators only). */
export function registerWorkerCommands(program: Command): void {
  program
    .command('worker')
    .description('run builds for a BuildGrid server on this machine (git and buildah here; logs and images go to the server)')
    .option('--server <url>', 'the server or the cluster address (BUILDGRID_SERVER)')
    .option('--token-file <file>', 'a file holding a worker token from `buildgrid workers tokens create` (or BUILDGRID_WORKER_TOKEN)')
    .option('--token <token>', 'refused: a token on the command line is readable by every process of this machine')
    .option('--concurrency <n>', 'builds at once (default: one per CPU core)')
    .option('--work-dir <dir>', 'git mirrors, checkouts and the layer cache (default ./worker)')
    .option('--engine <engine>', 'buildah (default) or docker')
    .option('--docker-host <url>', 'Docker Engine socket for --engine docker')
    .option('--allow-local-git', 'allow file:// git URLs (tests)')
    .action(action(async (opts: { server?: string; token?: string; tokenFile?: string; concurrency?: string; workDir?: string; engine?: string; dockerHost?: string; allowLocalGit?: boolean }) => {
      const env = process.env;
      const server = opts.server ?? env.BUILDGRID_SERVER;
      if (opts.token !== undefined) {
        throw new CliError('--token is refused: a command line is readable by every process on this machine (/proc/PID/cmdline), builds included',
          'put the token in a file only root can read and pass --token-file FILE, or set BUILDGRID_WORKER_TOKEN');
      }
      const token = opts.tokenFile ? await readTokenFile(opts.tokenFile) : env.BUILDGRID_WORKER_TOKEN?.trim();
      if (!server || !token) throw new CliError('a worker needs --server and a token (--token-file FILE or BUILDGRID_WORKER_TOKEN)', 'an administrator creates tokens with `buildgrid workers tokens create NAME`');
      const concurrency = Number(opts.concurrency ?? env.BUILDGRID_WORKER_CONCURRENCY ?? cpus().length);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new CliError(`invalid --concurrency ${opts.concurrency}`, 'use a whole number from 1 to 64');
      const workDir = resolve(opts.workDir ?? env.BUILDGRID_WORKER_DIR ?? './worker');
      const engineName = opts.engine ?? env.BUILDGRID_BUILD_ENGINE ?? 'buildah';
      if (engineName !== 'buildah' && engineName !== 'docker') throw new CliError(`unknown engine ${engineName}`, 'use buildah or docker');
      const engine = engineName === 'docker'
        ? createDockerEngine({ host: opts.dockerHost ?? env.BUILDGRID_DOCKER_HOST ?? 'unix:///var/run/docker.sock' })
        : createBuildahEngine({ workDir: join(workDir, 'buildah'), ...(await workerSandbox(env, server)) });
      const log = pino({ level: env.BUILDGRID_LOG_LEVEL ?? 'info' });
      await engine.check();
      const allowLocal = opts.allowLocalGit ?? ['1', 'true'].includes(env.BUILDGRID_ALLOW_LOCAL_GIT ?? '');
      const git = workerGitFetcher({ cacheDir: join(workDir, 'git'), allowLocal });
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
        console.log('It is shown only now. Start a worker with: BUILDGRID_WORKER_TOKEN=<token> buildgrid worker --server URL (or --token-file FILE)');
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
