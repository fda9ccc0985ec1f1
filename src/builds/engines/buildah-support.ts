// Pieces of the buildah engine that need none of its state: the private mount namespace script, the per-build
// configuration files (registries, auth, policy, storage), local tag names, and turning buildah's output into the
// error a user reads.

import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, chmod, mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeTree } from './fsutil.ts';
import { childEnv } from './process.ts';

/** The containers/storage driver a layer cache uses. */
export type StorageDriver = 'vfs' | 'overlay';

/**
 * Shell run inside `unshare --mount` (arguments are positional, never interpolated): bind private directories over
 * the host paths buildah 1.28 writes or reads regardless of configuration, then exec the command (same pid).
 *   $1 blob-info cache dir → /var/lib/containers/cache (created empty on the host if missing: a bind needs a target)
 *   $2 tmp dir → /var/tmp   $3 empty dir → /etc/containers/registries.conf.d
 */
export const NS_SCRIPT = [
  'set -e',
  'bic="$1"; tmp="$2"; regd="$3"; shift 3',
  '[ -d /var/lib/containers/cache ] || mkdir -p /var/lib/containers/cache',
  'mount --bind "$bic" /var/lib/containers/cache',
  'if [ -d /var/tmp ]; then mount --bind "$tmp" /var/tmp; fi',
  'if [ -d /etc/containers/registries.conf.d ]; then mount --bind "$regd" /etc/containers/registries.conf.d; fi',
  'exec "$@"',
].join('\n');

/** `unshare` arguments that run the command following them inside a private mount namespace set up by NS_SCRIPT. */
export function nsArgs(blobInfoCache: string, tmp: string, emptyDir: string): string[] {
  return ['--mount', '--propagation', 'private', '--', 'sh', '-c', NS_SCRIPT, 'buildgrid-ns', blobInfoCache, tmp, emptyDir];
}

/** Writes the private configuration of one buildah invocation set under `dir` and returns the environment to use. */
export async function writeConfigs(
  dir: string,
  driver: StorageDriver,
  o: {
    registry: string | null; insecure: boolean; credentials: { username: string; password: string } | null; search: string[];
    /**
     * Upstream registry names (docker.io, ghcr.io, …) whose images are pulled through BuildGrid's pull-through cache
     * at <registry>/mirror/<name>; with docker.io among them and no `search`, short names resolve to docker.io as
     * Docker does (FROM node:20 → docker.io/library/node:20 → <registry>/mirror/docker.io/library/node:20).
     */
    mirrors?: readonly string[];
  },
): Promise<NodeJS.ProcessEnv> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  for (const d of ['tmp', 'home', 'regd', 'net']) await mkdir(join(dir, d), { recursive: true, mode: 0o700 });
  const q = (s: string): string => JSON.stringify(s); // TOML basic strings accept JSON string syntax for these values
  const mirrors = o.registry ? (o.mirrors ?? []) : [];
  const search = o.search.length > 0 ? o.search : mirrors.includes('docker.io') ? ['docker.io'] : [];
  const tls = `insecure = ${o.insecure ? 'true' : 'false'}`;
  const registries = [
    `unqualified-search-registries = [${search.map(q).join(', ')}]`,
    'short-name-mode = "enforcing"',
    ...(o.registry ? ['', '[[registry]]', `location = ${q(o.registry)}`, tls] : []),
    ...mirrors.flatMap((m) => ['', '[[registry]]', `prefix = ${q(m)}`, `location = ${q(`${o.registry}/mirror/${m}`)}`, tls]),
    '',
  ].join('\n');
  await writeFile(join(dir, 'registries.conf'), registries);
  await writeFile(
    join(dir, 'containers.conf'),
    ['[containers]', '', '[network]', `network_config_dir = ${q(join(dir, 'net'))}`, '', '[engine]', `image_copy_tmp_dir = ${q(join(dir, 'tmp'))}`, ''].join('\n'),
  );
  await writeFile(join(dir, 'storage.conf'), ['[storage]', `driver = ${q(driver)}`, ''].join('\n'));
  await writeFile(join(dir, 'policy.json'), JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }) + '\n');
  const auths: Record<string, { auth: string }> = {};
  if (o.registry && o.credentials) {
    auths[o.registry] = { auth: Buffer.from(`${o.credentials.username}:${o.credentials.password}`).toString('base64') };
  }
  await writeFile(join(dir, 'auth.json'), JSON.stringify({ auths }) + '\n', { mode: 0o600 });

  const drop: Record<string, undefined> = {};
  for (const k of Object.keys(process.env)) {
    if (/^(BUILDAH_|STORAGE_|CONTAINERS_|XDG_|DOCKER_|REGISTRY_AUTH_FILE$)/.test(k)) drop[k] = undefined;
  }
  return childEnv({
    ...drop,
    HOME: join(dir, 'home'),
    TMPDIR: join(dir, 'tmp'),
    CONTAINERS_CONF: join(dir, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
    CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'),
    REGISTRY_AUTH_FILE: join(dir, 'auth.json'),
    BUILDAH_ISOLATION: 'chroot',
    LC_ALL: 'C',
  });
}

/** A valid tag for the local build image: the build id with anything outside the tag grammar replaced. */
export function buildTagFor(buildId: string): string {
  const s = buildId.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[.-]+/, '').slice(0, 100);
  return s || `b-${randomBytes(6).toString('hex')}`;
}

/**
 * The line that says why buildah failed: its last "Error: …" line (without the prefix), else the last `level=error`
 * message, else the last non-empty line.
 */
export function meaningfulError(tail: readonly string[]): string {
  const lines = tail.map((l) => l.trim()).filter(Boolean);
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^Error:\s*(.*)$/.exec(lines[i]!);
    if (m) return m[1]!;
  }
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /level=(?:error|fatal) msg="((?:[^"\\]|\\.)*)"/.exec(lines[i]!);
    if (m) return m[1]!.replace(/\\"/g, '"');
  }
  return lines[lines.length - 1] ?? 'buildah exited without output';
}

/** Removes buildah internals from an error line and adds what to do for the common cases. */
export function explainBuildError(msg: string, registry: string): string {
  let out = msg.replace(/\s*&imagebuilder\.Step\{.*$/, '');
  const short = /short-name "([^"]+)" did not resolve to an alias and no unqualified-search registries are defined/.exec(out);
  if (short) {
    const name = short[1]!.includes('/') ? short[1]! : `library/${short[1]!}`;
    out = `${out.replace(/ in "[^"]*registries\.conf"/, '')} (use a full image reference, e.g. ${registry}/${name})`;
  }
  return out;
}

export async function onPath(cmd: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (!dir) continue;
    try {
      await access(join(dir, cmd), fsConstants.X_OK);
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}

/**
 * Makes sure the layer-cache dir `dir` exists (0700) and was made with `driver` (wipes it otherwise), and touches its
 * last-used mark. Resolves to true when it starts empty (new, or wiped), so there is nothing to sweep.
 */
export async function prepareCache(dir: string, driver: StorageDriver): Promise<boolean> {
  const marker = join(dir, 'driver');
  const current = await readFile(marker, 'utf8').catch(() => null);
  if (current !== null && current.trim() !== driver) await removeTree(dir);
  const empty = !(await stat(join(dir, 'root')).then(() => true, () => false));
  await mkdir(join(dir, 'bic'), { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  if (current?.trim() !== driver) await writeFile(marker, `${driver}\n`);
  const lastUsed = join(dir, 'last-used');
  const now = new Date();
  await utimes(lastUsed, now, now).catch(() => writeFile(lastUsed, ''));
  return empty;
}
