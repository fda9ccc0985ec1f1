import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../core/errors.ts';
import type { GitSource } from '../types.ts';
import { shellQuote } from './exec.ts';
import type { GitUrlKind } from './urls.ts';

/**
 * Turns a GitSource's credentials into what one git run needs, without ever putting a secret in the URL, in argv or
 * in the mirror's config:
 *  - token (https/http): `http.extraHeader=Authorization: Basic base64(user:token)`, passed as environment config;
 *  - ssh key: written to a 0600 file in a fresh 0700 directory, used through GIT_SSH_COMMAND with IdentitiesOnly and
 *    `-F /dev/null` (so no ~/.ssh/config of the server's user can add its own keys), accepting a host key the first
 *    time and pinning it in <cacheDir>/known_hosts afterwards; `cleanup()` deletes the key;
 *  - none over ssh: public-key auth off, so the server's own keys and agent are never offered.
 */

/** Credentials ready for runGit. Call `cleanup()` when the git runs are done. */
export interface PreparedAuth {
  env: Record<string, string>;
  secretConfig: Record<string, string>;
  secrets: string[];
  /** What to tell the person when the host refuses: names the credential to check. */
  refusedHint: string;
  cleanup(): Promise<void>;
}

export interface AuthPaths {
  /** A directory for the temporary key file (a private subdirectory is made inside it). */
  tmpDir: string;
  knownHosts: string;
  /** The ssh program; tests substitute a fake. */
  sshProgram: string;
  /** ssh connects to an address: record and check the host key under this name instead (pin.ts). */
  hostKeyAlias?: string;
}

/** Prepares credentials for `src` reached over `kind`. Throws AppError INVALID when the credential does not fit the URL (a token with ssh, a key with https). */
export async function prepareAuth(src: GitSource, kind: GitUrlKind, paths: AuthPaths): Promise<PreparedAuth> {
  const auth = src.auth;
  const sshBase = [paths.sshProgram, '-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'IdentityAgent=none',
    '-o', 'StrictHostKeyChecking=accept-new', '-o', `UserKnownHostsFile=${paths.knownHosts}`, '-o', 'ConnectTimeout=30',
    ...(paths.hostKeyAlias ? ['-o', `HostKeyAlias=${paths.hostKeyAlias}`, '-o', 'CheckHostIP=no'] : [])];
  const none = async () => {};
  if (auth.kind === 'token') {
    if (kind === 'ssh') throw new AppError('INVALID', 'a git token works only with https:// URLs: use the https URL of the repository, or a deploy key for ssh');
    const pair = `${auth.username}:${auth.token}`;
    const basic = Buffer.from(pair).toString('base64');
    return {
      env: {},
      secretConfig: kind === 'file' ? {} : { 'http.extraHeader': `Authorization: Basic ${basic}` },
      secrets: [auth.token, basic, pair],
      refusedHint: "git host refused the credentials: check the service's git token",
      cleanup: none,
    };
  }
  if (auth.kind === 'ssh') {
    if (kind !== 'ssh') throw new AppError('INVALID', 'a deploy key works only with ssh URLs (git@host:org/repo.git): change the URL or use a git token');
    const dir = await mkdtemp(join(paths.tmpDir, 'key-'));
    const keyFile = join(dir, 'id');
    let key = auth.privateKey.replace(/\r\n?/g, '\n');
    if (!key.endsWith('\n')) key += '\n';
    await writeFile(keyFile, key, { mode: 0o600, flag: 'wx' });
    const cmd = [...sshBase, '-i', keyFile, '-o', 'IdentitiesOnly=yes'];
    return {
      env: { GIT_SSH_COMMAND: cmd.map(shellQuote).join(' '), GIT_SSH_VARIANT: 'ssh' },
      secretConfig: {},
      secrets: key.split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----')),
      refusedHint: "git host refused the deploy key: check that the service's public deploy key is added to the repository with read access",
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  }
  const env: Record<string, string> = kind === 'ssh'
    ? { GIT_SSH_COMMAND: [...sshBase, '-o', 'PubkeyAuthentication=no'].map(shellQuote).join(' '), GIT_SSH_VARIANT: 'ssh' }
    : {};
  return {
    env,
    secretConfig: {},
    secrets: [],
    refusedHint: kind === 'ssh'
      ? 'git host asked for credentials: generate a deploy key for the service and add it to the repository'
      : "git host asked for credentials: the repository is private, set the service's git token",
    cleanup: none,
  };
}
