// Shared set-up for the real-client suites: a BuildGrid server in this process, the standard test world, a locally
// built busybox image imported with the real `buildgrid import` CLI, and per-client sandboxes (HOME, auth files,
// storage roots) under one temp dir, so no client touches the machine's global configuration.

import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBusyboxImage, type BusyboxImage } from '../harness/busybox.ts';
import { removeTree, run, tempDir, type RunResult } from '../harness/tools.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { makeWorld, type World } from '../support/world.ts';

/** Repository root (where bin/buildgrid.mjs lives). */
export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

/** A user-name/password pair as registry clients take it. */
export interface Creds { username: string; password: string }

/** `user:pass` for --creds. */
export const creds = (c: Creds): string => `${c.username}:${c.password}`;

/** What `buildgrid import --json` prints. */
export interface ImportResult { repository: string; tag: string; digest: string; bytes: number; image: string }

export interface ClientsWorld {
  s: TestServer;
  w: World;
  img: BusyboxImage;
  /** host:port of the registry (for image references). */
  host: string;
  /** Temp dir owning everything this suite writes (removed by cleanup). */
  root: string;
  /** Runs the real CLI (`node bin/buildgrid.mjs ...args`) as the administrator with a private XDG_CONFIG_HOME. */
  cli(args: string[], token?: string): Promise<RunResult>;
  /** A fresh, private directory under root for one client (its HOME, auth file, storage). */
  sandbox(name: string): Promise<Sandbox>;
  /** Stops the server and removes every temp dir (unmounting anything a client left mounted). Idempotent. */
  cleanup(): Promise<void>;
}

export interface Sandbox {
  dir: string;
  /** Env for containers-image based clients: HOME, XDG dirs and REGISTRY_AUTH_FILE all inside `dir`. */
  env: Record<string, string>;
  authFile: string;
  /** Private containers.conf (CONTAINERS_CONF in env). */
  containersConf: string;
}

/** Starts the server, makes the world and a busybox image (nothing imported yet). */
export async function startClientsWorld(prefix: string): Promise<ClientsWorld> {
  const tmp = await tempDir(prefix);
  let s: TestServer | undefined;
  let done: Promise<void> | undefined;
  const cleanup = (): Promise<void> => {
    done ??= (async () => {
      await s?.stop().catch((e) => console.error('server stop failed:', e));
      await removeTree(tmp.path);
    })();
    return done;
  };
  try {
    s = await startTestServer();
    const server = s;
    const w = await makeWorld(server);
    const img = await makeBusyboxImage(join(tmp.path, 'img'), { extraFiles: { 'etc/motd': 'served by BuildGrid\n' } });
    const xdg = join(tmp.path, 'cli-config');
    await mkdir(xdg, { recursive: true });
    let n = 0;
    return {
      s: server,
      w,
      img,
      host: server.host,
      root: tmp.path,
      cli: (args, token = w.adminToken) =>
        run(process.execPath, [join(ROOT, 'bin', 'buildgrid.mjs'), ...args], {
          cwd: ROOT,
          timeoutMs: 60_000,
          env: { BUILDGRID_SERVER: server.url, BUILDGRID_TOKEN: token, XDG_CONFIG_HOME: xdg, NO_COLOR: '1' },
        }),
      async sandbox(name) {
        const dir = join(tmp.path, `${name}-${++n}`);
        const home = join(dir, 'home');
        await mkdir(join(home, '.config'), { recursive: true });
        await mkdir(join(dir, 'run'), { recursive: true, mode: 0o700 });
        await mkdir(join(dir, 'tmp'), { recursive: true });
        const authFile = join(dir, 'auth.json');
        await writeFile(authFile, '{}\n', { mode: 0o600 });
        // podman (as root) would otherwise create /etc/containers/networks + /run/containers/networks for netavark
        // even for a pull: the CNI backend with a private config dir touches nothing outside `dir`.
        const containersConf = join(dir, 'containers.conf');
        await writeFile(containersConf, [
          '[network]', 'network_backend = "cni"', `network_config_dir = "${join(dir, 'networks')}"`,
          '[engine]', 'events_logger = "none"', `tmp_dir = "${join(dir, 'tmp')}"`, '',
        ].join('\n'));
        return {
          dir,
          authFile,
          containersConf,
          env: {
            HOME: home,
            XDG_CONFIG_HOME: join(home, '.config'),
            XDG_RUNTIME_DIR: join(dir, 'run'),
            REGISTRY_AUTH_FILE: authFile,
            CONTAINERS_CONF: containersConf,
            TMPDIR: join(dir, 'tmp'),
            DOCKER_CONFIG: join(home, '.docker'),
          },
        };
      },
      cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** Imports with the real CLI (`--json`) and returns the parsed output; throws with the CLI's output if it fails. */
export async function cliImport(cw: ClientsWorld, source: string, target: string): Promise<ImportResult> {
  const r = await cw.cli(['import', source, target, '--json']);
  if (r.code !== 0) throw new Error(`buildgrid import ${source} ${target} exited ${r.code}\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout) as ImportResult;
}

/** stdout + stderr of a run, for assertion messages. */
export function output(r: RunResult): string {
  return `code=${r.code}${r.timedOut ? ' TIMED OUT' : ''}\n--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout}`;
}
