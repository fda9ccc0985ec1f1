import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Metadata } from '../metadata/types.ts';
import type { People } from '../auth/index.ts';

/**
 * First start: when no administrator exists, creates one from adminEmail/adminPassword, or with a generated password
 * printed once on stderr (never logged to the JSON log).
 */
export async function ensureAdmin(opts: { config: Config; metadata: Metadata; people: People; log: Logger }): Promise<void> {
  const { config, metadata, people } = opts;
  const users = await metadata.users.list();
  if (users.some((u) => u.isAdmin)) return;
  const generated = !config.adminPassword;
  const password = config.adminPassword ?? randomBytes(15).toString('base64url');
  await people.createUser({ email: config.adminEmail, password, isAdmin: true });
  opts.log.info({ email: config.adminEmail }, 'created the first administrator');
  const lines = [
    '',
    '  BuildGrid: first start — an administrator was created.',
    `    email:    ${config.adminEmail}`,
    `    password: ${generated ? password : '(from BUILDGRID_ADMIN_PASSWORD)'}`,
    generated ? '    This password is shown only once. Store it now.' : '',
    `  Sign in:   buildgrid login --server ${config.publicUrl} --email ${config.adminEmail} --password-stdin`,
    '',
  ];
  if (config.logLevel !== 'silent' || generated) process.stderr.write(`${lines.filter((l) => l !== '').join('\n')}\n\n`);
}
