// The sandbox RUN steps execute in (buildah engine). A build runs code its developer wrote: treat it like code from the
// internet. What each RUN step gets (see docs/security.md for the threat model):
//
//   - an OCI runtime (runc, `buildah bud --isolation oci`): its own PID, IPC, UTS and mount namespaces, a root entered
//     by pivot_root (buildah's chroot isolation is escapable by any process holding CAP_SYS_CHROOT — measured: a
//     12-line static binary listed the host's /work), a fresh /proc showing only its own processes, the runtime's
//     masked /proc and /sys paths, seccomp, buildah's default capability set (no CAP_SYS_ADMIN, NET_ADMIN, NET_RAW,
//     SYS_PTRACE, MKNOD);
//   - a runtime shim (below) that rewrites the OCI spec buildah wrote before runc reads it: no_new_privs, a pids limit,
//     and a check that the namespaces above are really there (a spec without them is refused, not run);
//   - cgroup limits on memory (swap included) and CPU through buildah's own flags;
//   - a network of its own (`network: 'isolated'`): a network namespace per build with a user-mode network
//     (slirp4netns, --disable-host-loopback) for outbound access, in which every private, loopback, link-local,
//     shared (CGNAT), multicast and reserved IPv4 range and every address of this host is an `unreachable` route. IPv6
//     is not configured at all. The step has no CAP_NET_ADMIN, so it cannot change those routes. Operator-listed
//     CIDRs (`allowedNetworks`, e.g. an internal package mirror) get a more specific route through the gateway.
//     `none` gives the step a loopback interface only; `host` shares this machine's network (unsafe for untrusted code).
//
// Namespaces are created with `ip netns add bg-<pid>-<random>` so that leftovers of a killed process can be found
// and removed (sweepStaleNetworks) by the next engine that starts on this machine.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, chmod, writeFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { isIPv4 } from 'node:net';
import { join } from 'node:path';
import { AppError } from '../../core/errors.ts';
import { onPath } from './buildah-support.ts';
import { runChecked, runProcess } from './process.ts';

/** How RUN steps reach the network. */
export type BuildNetwork = 'isolated' | 'none' | 'host';

/** The limits and network of every RUN step (one policy per engine). */
export interface SandboxPolicy {
  network: BuildNetwork;
  /** IPv4 CIDRs RUN steps may reach although they fall in a blocked range (isolated network only). */
  allowedNetworks: readonly string[];
  /** Extra addresses RUN steps must never reach (e.g. the BuildGrid server a remote worker talks to). */
  blockedAddresses?: readonly string[];
  /** Memory limit of each RUN step in bytes (swap included); null = none. */
  memoryBytes: number | null;
  /** CPU limit of each RUN step in cores (CFS quota); null = none. */
  cpus: number | null;
  /** Most processes (threads included) a RUN step may have at once; null = none. */
  pids: number | null;
}

/** Defaults: isolated network, 4 GiB of memory, 2 048 processes, no CPU cap. */
export const DEFAULT_SANDBOX: SandboxPolicy = { network: 'isolated', allowedNetworks: [], memoryBytes: 4 * 1024 ** 3, cpus: null, pids: 2048 };

/**
 * IPv4 ranges no RUN step may reach in the isolated network (RFC 6890 special-purpose ranges that are not public
 * unicast). slirp's own 10.0.2.0/24 keeps working through its more specific connected route (gateway 10.0.2.2, whose
 * host-loopback forwarding slirp4netns refuses; DNS 10.0.2.3).
 */
export const BLOCKED_RANGES = [
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24',
  '192.0.2.0/24', '192.88.99.0/24', '192.168.0.0/16', '198.18.0.0/15', '224.0.0.0/4', '240.0.0.0/4',
] as const;

/** The gateway and DNS server slirp4netns provides inside the namespace. */
const SLIRP_GATEWAY = '10.0.2.2';
const SLIRP_DNS = '10.0.2.3';

/** A per-build network: the buildah flags that join it, and its teardown (idempotent, never throws). */
export interface BuildNetworkHandle {
  args: string[];
  close(): Promise<void>;
}

/** Checks a CIDR list from configuration; throws AppError INVALID naming the bad entry. */
export function parseCidrs(list: readonly string[]): string[] {
  return list.map((c) => {
    const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?$/.exec(c.trim());
    if (!m || !isIPv4(m[1]!) || Number(m[2] ?? 32) > 32) {
      throw new AppError('INVALID', `invalid network "${c}" in buildAllowedNetworks: use IPv4 CIDRs such as 10.1.2.0/24`);
    }
    return `${m[1]}/${m[2] ?? 32}`;
  });
}

/** IPv4 addresses of this machine's interfaces (loopback excluded: 127/8 is blocked as a range). */
export function hostAddresses(): string[] {
  return Object.values(networkInterfaces()).flat().filter((a) => a && a.family === 'IPv4' && !a.internal).map((a) => a!.address);
}

/**
 * Creates the network RUN steps of one build join. `isolated`: a new named namespace with slirp4netns and the blocked
 * routes (throws AppError INVALID with what to install when `ip` or slirp4netns is missing); `none` / `host`: no
 * namespace, just buildah's flag.
 */
export async function openBuildNetwork(policy: SandboxPolicy): Promise<BuildNetworkHandle> {
  if (policy.network === 'none') return { args: ['--network', 'none'], close: async () => undefined };
  if (policy.network === 'host') return { args: ['--network', 'host'], close: async () => undefined };
  for (const tool of ['ip', 'slirp4netns']) {
    if (!(await onPath(tool))) throw new AppError('INVALID', `the isolated build network needs ${tool}: apt-get install ${tool === 'ip' ? 'iproute2' : tool} (or set buildNetwork to none)`);
  }
  const name = `bg-${process.pid}-${randomBytes(4).toString('hex')}`;
  await runChecked('ip', ['netns', 'add', name], { timeoutMs: 15_000, what: 'ip netns add' });
  let slirp: ChildProcess | undefined;
  const close = async (): Promise<void> => {
    if (slirp && slirp.exitCode === null) {
      const gone = new Promise((r) => slirp!.once('exit', r));
      slirp.kill('SIGKILL');
      await gone;
    }
    await runProcess('ip', ['netns', 'del', name], { timeoutMs: 15_000 }).catch(() => undefined);
  };
  try {
    slirp = await startSlirp(name);
    const allowed = parseCidrs(policy.allowedNetworks);
    const blocked = [...BLOCKED_RANGES, ...[...hostAddresses(), ...(policy.blockedAddresses ?? [])].filter(isIPv4).map((a) => `${a}/32`)];
    const batch = [
      'link set lo up',
      ...[...new Set(blocked)].map((c) => `route add unreachable ${c}`),
      ...allowed.map((c) => `route add ${c} via ${SLIRP_GATEWAY} dev tap0`),
    ].join('\n') + '\n';
    await runChecked('ip', ['-n', name, '-batch', '-'], { input: batch, timeoutMs: 15_000, what: 'ip route (build network)' });
    return { args: ['--network', `ns:/run/netns/${name}`, '--dns', SLIRP_DNS], close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Starts slirp4netns for namespace `name` and resolves once it has configured tap0 (its ready fd said so). */
function startSlirp(name: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    // fd 3: ready (slirp writes "1"); fd 4: exit (slirp exits when the other end closes — also when we die).
    const child = spawn('slirp4netns', ['--configure', '--mtu=65520', '--disable-host-loopback', '--ready-fd=3', '--exit-fd=4', '--netns-type=path', `/run/netns/${name}`, 'tap0'], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (b: Buffer) => { err = (err + b.toString()).slice(-2000); });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new AppError('INVALID', `slirp4netns did not come up within 15 s: ${err.trim()}`)); }, 15_000);
    const ready = child.stdio[3] as NodeJS.ReadableStream;
    ready.once('data', () => { clearTimeout(timer); resolve(child); });
    child.once('error', (e) => { clearTimeout(timer); reject(new AppError('INVALID', `cannot start slirp4netns: ${e.message}`)); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new AppError('INVALID', `slirp4netns exited (${code}): ${err.trim()}`)); });
  });
}

/** Removes build network namespaces left by processes that no longer exist (a crashed server or worker). */
export async function sweepStaleNetworks(): Promise<void> {
  const r = await runProcess('ip', ['netns', 'list'], { timeoutMs: 15_000, tailLines: 10_000 }).catch(() => null);
  if (!r || r.code !== 0) return;
  for (const line of r.tail) {
    const m = /^(bg-(\d+)-[0-9a-f]{8})\b/.exec(line.trim());
    if (!m || pidAlive(Number(m[2]))) continue;
    await runProcess('ip', ['netns', 'del', m[1]!], { timeoutMs: 15_000 }).catch(() => undefined);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The OCI runtime RUN steps use: runc (crun cannot create cgroups on hybrid cgroup hosts such as this one). */
export async function findRuntime(): Promise<string> {
  for (const p of ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc', '/usr/local/bin/runc']) {
    if (await access(p, fsConstants.X_OK).then(() => true, () => false)) return p;
  }
  throw new AppError('INVALID', 'the build sandbox needs the OCI runtime runc: apt-get install runc');
}

/**
 * The spec hardening the shim applies (run by node on the bundle's config.json before runc reads it). Refuses (exit
 * 125, message on stderr — buildah shows it in the build log) a spec that lacks one of the namespaces we rely on.
 */
const HARDEN_JS = `'use strict';
const fs = require('fs');
const [file, pids] = process.argv.slice(2);
const spec = JSON.parse(fs.readFileSync(file, 'utf8'));
const ns = new Set(((spec.linux || {}).namespaces || []).map((n) => n.type));
for (const want of ['pid', 'ipc', 'uts', 'mount', 'network']) {
  if (!ns.has(want)) { process.stderr.write('buildgrid sandbox: refusing to run a step without its own ' + want + ' namespace\\n'); process.exit(125); }
}
spec.process = spec.process || {};
spec.process.noNewPrivileges = true;
spec.process.oomScoreAdj = 1000;
spec.linux.resources = spec.linux.resources || {};
if (pids !== 'none') spec.linux.resources.pids = { limit: Number(pids) };
fs.writeFileSync(file, JSON.stringify(spec));
`;

/**
 * Writes the runtime shim of one build into `dir` and returns its path (give it to `buildah bud --runtime`). The shim
 * hardens the spec of every container created through it (`--bundle` in its arguments), then execs `runtime`.
 */
export async function writeRuntimeShim(dir: string, runtime: string, policy: SandboxPolicy): Promise<string> {
  const js = join(dir, 'harden.cjs');
  const sh = join(dir, 'runtime');
  await writeFile(js, HARDEN_JS, { mode: 0o600 });
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  await writeFile(sh, [
    '#!/bin/sh',
    '# BuildGrid runtime shim: hardens the OCI spec of each RUN step, then runs the real runtime.',
    'prev=; bundle=',
    'for a in "$@"; do',
    '  case "$prev" in --bundle|-b) bundle="$a";; esac',
    '  case "$a" in --bundle=*) bundle="${a#--bundle=}";; esac',
    '  prev="$a"',
    'done',
    `if [ -n "$bundle" ]; then ${q(process.execPath)} ${q(js)} "$bundle/config.json" ${policy.pids ?? 'none'} || exit 125; fi`,
    `exec ${q(runtime)} "$@"`,
    '',
  ].join('\n'), { mode: 0o700 });
  await chmod(sh, 0o700);
  return sh;
}

/** buildah bud flags for the resource limits of `policy`. */
export function limitArgs(policy: SandboxPolicy): string[] {
  const out: string[] = [];
  if (policy.memoryBytes !== null) out.push('--memory', `${Math.floor(policy.memoryBytes / 1024)}k`, '--memory-swap', `${Math.floor(policy.memoryBytes / 1024)}k`);
  if (policy.cpus !== null) out.push('--cpu-period', '100000', '--cpu-quota', String(Math.max(1000, Math.round(policy.cpus * 100_000))));
  return out;
}
