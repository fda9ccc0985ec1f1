import { readFileSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, dirname } from 'node:path';
import { CliError } from './output.ts';

/** Where `buildgrid login` keeps the server URL and API token (mode 0600). */
export function cliConfigPath(): string {
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'buildgrid', 'cli.json');
}

/** Saved login. */
export interface CliLogin { server: string; token: string; email?: string }

/** Stores a login for later commands. */
export function saveLogin(login: CliLogin): void {
  const p = cliConfigPath();
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, JSON.stringify(login, null, 2), { mode: 0o600 });
  chmodSync(p, 0o600);
}

/** The server and token from BUILDGRID_SERVER + BUILDGRID_TOKEN, else from the saved login. Throws CliError when neither. */
export function currentLogin(): CliLogin {
  const server = process.env.BUILDGRID_SERVER;
  const token = process.env.BUILDGRID_TOKEN;
  if (server && token) return { server: server.replace(/\/+$/, ''), token };
  try {
    const saved = JSON.parse(readFileSync(cliConfigPath(), 'utf8')) as CliLogin;
    if (saved.server && saved.token) return { ...saved, server: server?.replace(/\/+$/, '') ?? saved.server };
  } catch { /* fall through */ }
  throw new CliError('not logged in', 'run `buildgrid login --server URL --email E --password-stdin`, or set BUILDGRID_SERVER and BUILDGRID_TOKEN');
}

/** Calls /api/v1 and returns the JSON body; API errors become CliErrors carrying the server's message. */
export async function api<T>(login: CliLogin | { server: string; token?: string }, method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${login.server}/api/v1${path}`, {
      method,
      headers: {
        'X-BuildGrid-Client': 'cli',
        ...(login.token ? { Authorization: `Bearer ${login.token}` } : {}),
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    throw new CliError(`cannot reach ${login.server}: ${(err as Error).cause ?? (err as Error).message}`, 'check the server URL and that `buildgrid serve` is running');
  }
  const text = await res.text();
  let json: unknown = undefined;
  try { json = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
  if (!res.ok) {
    const e = (json as { error?: { code: string; message: string } } | undefined)?.error;
    const hint = res.status === 401 ? 'log in again with `buildgrid login`' : res.status === 403 ? 'ask an account owner or administrator for access' : undefined;
    throw new CliError(e?.message ?? `server answered HTTP ${res.status}`, hint, e?.code);
  }
  return json as T;
}
