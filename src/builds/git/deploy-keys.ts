import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../core/errors.ts';

/** A new SSH key pair for a service: the public half goes to the git host, the private half into the service (encrypted). */
export interface DeployKey {
  /** One line: `ssh-ed25519 AAAA… comment`. */
  publicKey: string;
  /** OpenSSH private key (PEM-like block, no passphrase), ending in a newline. */
  privateKey: string;
}

/**
 * Generates an Ed25519 key pair with ssh-keygen in a private temporary directory, removed afterwards (also on failure).
 * `comment` (e.g. "buildgrid acme/web.api") ends up in the public key line; it must be printable, at most 200 characters.
 * Throws AppError INVALID for a bad comment, INTERNAL when ssh-keygen is missing or fails.
 */
export async function generateDeployKey(comment: string, opts: { signal?: AbortSignal } = {}): Promise<DeployKey> {
  if (comment.length > 200 || /[\u0000-\u001f\u007f]/.test(comment)) {
    throw new AppError('INVALID', 'a deploy key comment must be one line of at most 200 printable characters');
  }
  const dir = await mkdtemp(join(tmpdir(), 'buildgrid-key-'));
  try {
    const file = join(dir, 'key');
    await new Promise<void>((resolve, reject) => {
      execFile('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file],
        { signal: opts.signal, timeout: 30_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
        (err, _stdout, stderr) => {
          if (!err) return resolve();
          if (err.name === 'AbortError') return reject(err);
          const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
          reject(new AppError('INTERNAL', missing
            ? 'ssh-keygen is not installed: install openssh-client to generate deploy keys'
            : `ssh-keygen failed: ${String(stderr).trim() || err.message}`));
        });
    });
    const [privateKey, publicKey] = await Promise.all([readFile(file, 'utf8'), readFile(`${file}.pub`, 'utf8')]);
    return { publicKey: publicKey.trim(), privateKey };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
