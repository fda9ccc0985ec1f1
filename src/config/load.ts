import { readFileSync } from 'node:fs';
import { AppError } from '../core/errors.ts';
import { configSchema, type Config } from './schema.ts';

const ENV_PREFIX = 'BUILDGRID_';
/**
 * Environment variables with the prefix that are not configuration keys: client settings, the file path, and the test
 * harness's switches (BUILDGRID_TEST_*, BUILDGRID_NO_DOCKERD, …), which CI exports to every process it starts.
 */
const NOT_CONFIG = new Set(['SERVER', 'TOKEN', 'CONFIG', 'NO_DOCKERD', 'DOCKER_CLIENT', 'SCREENSHOTS', 'FROM_SOURCE']);
const NOT_CONFIG_PREFIX = 'TEST_';

function envKeyToCamel(k: string): string {
  return k.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Builds the configuration: defaults, then the JSON file (`file`, or BUILDGRID_CONFIG), then BUILDGRID_* environment
 * variables, then `overrides` (command-line flags). Throws AppError INVALID naming the offending key when a key is
 * unknown or a value is invalid.
 */
export function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv; overrides?: Record<string, unknown> } = {}): Config {
  const env = opts.env ?? process.env;
  const raw: Record<string, unknown> = {};
  const file = opts.file ?? env.BUILDGRID_CONFIG;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new AppError('INVALID', `cannot read config file ${file}: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new AppError('INVALID', `config file ${file} must hold a JSON object`);
    }
    Object.assign(raw, parsed);
  }
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith(ENV_PREFIX) || v === undefined) continue;
    const key = k.slice(ENV_PREFIX.length);
    if (NOT_CONFIG.has(key) || key.startsWith(NOT_CONFIG_PREFIX)) continue;
    raw[envKeyToCamel(key)] = v;
  }
  for (const [k, v] of Object.entries(opts.overrides ?? {})) if (v !== undefined) raw[k] = v;
  const r = configSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.join(', ');
      throw new AppError('INVALID', `unknown configuration key(s): ${keys} (see "Configuration" in the README for valid keys)`);
    }
    const key = issue.path.join('.');
    throw new AppError('INVALID', `invalid configuration value for "${key}": ${issue.message}`);
  }
  const c = r.data;
  const publicUrl = (c.publicUrl ?? `http://localhost:${c.port}`).replace(/\/+$/, '');
  return Object.freeze({ ...c, publicUrl });
}
