import { AppError } from '../../core/errors.ts';
import { randomId } from '../../core/ids.ts';
import type {
  Account, ApiToken, Build, Membership, Metadata, PullTokenSecrets, UserSecrets,
} from '../../metadata/types.ts';

/**
 * An in-memory stand-in for the parts of the metadata store that auth uses (accounts, users, memberships,
 * API tokens, pull tokens, settings, and builds.get for job tokens), for auth's unit tests only. `calls` counts every method call by
 * `repo.method`, so tests can see whether a cache saved a lookup. Other repositories throw when used.
 */
export interface FakeMetadata extends Metadata {
  readonly calls: Map<string, number>;
  callCount(prefix: string): number;
  /** Stores (or replaces) the build row `builds.get` answers with; only the fields job tokens look at matter. */
  putBuild(b: Pick<Build, 'id' | 'status' | 'attempt' | 'commit'>): void;
}

/** A fresh fake store; `now` is used by apiTokens.findByHash to skip expired tokens. */
export function createFakeMetadata(opts: { now?: () => number } = {}): FakeMetadata {
  const now = opts.now ?? Date.now;
  const iso = () => new Date(now()).toISOString();
  const calls = new Map<string, number>();
  const accounts = new Map<string, Account>();
  const users = new Map<string, UserSecrets>();
  const memberships = new Map<string, Membership>();
  const apiTokens = new Map<string, ApiToken & { tokenHash: string; revoked: boolean }>();
  const pullTokens = new Map<string, PullTokenSecrets>();
  const settings = new Map<string, string>();
  const builds = new Map<string, Build>();

  const strip = <T extends object>(o: T, ...keys: string[]): T => {
    const copy = { ...o } as Record<string, unknown>;
    for (const k of keys) delete copy[k];
    return copy as unknown as T;
  };

  // Rows are returned as copies, as a database would: later writes do not change what a caller already holds.
  const copy = <T extends object>(o: T | undefined): T | null => (o ? { ...o } : null);

  const track = <T extends object>(name: string, repo: T): T => {
    for (const [k, fn] of Object.entries(repo)) {
      (repo as Record<string, unknown>)[k] = (...args: unknown[]) => {
        calls.set(`${name}.${k}`, (calls.get(`${name}.${k}`) ?? 0) + 1);
        return (fn as (...a: unknown[]) => unknown)(...args);
      };
    }
    return repo;
  };
  const unused = (name: string) =>
    new Proxy({}, { get: (_t, prop) => () => Promise.reject(new Error(`fake metadata: ${name}.${String(prop)} not implemented`)) });

  const live = (t: (ApiToken & { tokenHash: string; revoked: boolean }) | undefined): ApiToken | null => {
    if (!t || t.revoked || (t.expiresAt !== null && Date.parse(t.expiresAt) <= now())) return null;
    return strip(t, 'tokenHash', 'revoked');
  };

  const store = {
    calls,
    callCount: (prefix: string) => [...calls].filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0),
    putBuild: (b: Pick<Build, 'id' | 'status' | 'attempt' | 'commit'>) => void builds.set(b.id, { ...b } as Build),
    builds: track('builds', { async get(id: string) { return copy(builds.get(id)); } }),
    accounts: track('accounts', {
      async create(input: { name: string; namespace: string }) {
        if ([...accounts.values()].some((a) => a.namespace === input.namespace)) throw new AppError('CONFLICT', 'namespace taken');
        const a: Account = { id: randomId(), ...input, createdAt: iso() };
        accounts.set(a.id, a);
        return a;
      },
      async get(id: string) { return accounts.get(id) ?? null; },
      async getByNamespace(ns: string) { return [...accounts.values()].find((a) => a.namespace === ns) ?? null; },
      async list() { return [...accounts.values()]; },
    }),
    users: track('users', {
      async create(input: Omit<UserSecrets, 'id' | 'createdAt'>) {
        for (const u of users.values()) {
          if (u.email === input.email || u.registryUsername === input.registryUsername) throw new AppError('CONFLICT', 'user taken');
        }
        const u: UserSecrets = { id: randomId(), ...input, createdAt: iso() };
        users.set(u.id, u);
        return strip(u, 'passwordHash', 'registrySecretHash', 'registrySecretEnc');
      },
      async get(id: string) {
        const u = users.get(id);
        return u ? strip(u, 'passwordHash', 'registrySecretHash', 'registrySecretEnc') : null;
      },
      async getByEmail(email: string) { return copy([...users.values()].find((u) => u.email === email)); },
      async getByRegistryUsername(name: string) { return copy([...users.values()].find((u) => u.registryUsername === name)); },
      async list() { return [...users.values()].map((u) => strip(u, 'passwordHash', 'registrySecretHash', 'registrySecretEnc')); },
      async setPasswordHash(id: string, hash: string) { const u = users.get(id); if (u) u.passwordHash = hash; },
      async setRegistrySecret(id: string, s: { hash: string; enc: string }) {
        const u = users.get(id);
        if (u) Object.assign(u, { registrySecretHash: s.hash, registrySecretEnc: s.enc });
      },
    }),
    memberships: track('memberships', {
      async set(m: Membership) { memberships.set(`${m.accountId}/${m.userId}`, { ...m }); },
      async remove(accountId: string, userId: string) { memberships.delete(`${accountId}/${userId}`); },
      async get(accountId: string, userId: string) { return memberships.get(`${accountId}/${userId}`) ?? null; },
      async listForUser(userId: string) {
        return [...memberships.values()]
          .filter((m) => m.userId === userId)
          .map((m) => ({ ...m, namespace: accounts.get(m.accountId)!.namespace, accountName: accounts.get(m.accountId)!.name }));
      },
      async listForAccount(accountId: string) {
        return [...memberships.values()].filter((m) => m.accountId === accountId).map((m) => ({ ...m, email: users.get(m.userId)!.email }));
      },
    }),
    apiTokens: track('apiTokens', {
      async create(input: { userId: string; name: string; tokenHash: string; expiresAt: string | null }) {
        const t = { id: randomId(), ...input, createdAt: iso(), revoked: false };
        apiTokens.set(t.id, t);
        return strip(t, 'tokenHash', 'revoked');
      },
      async findByHash(hash: string) {
        return live([...apiTokens.values()].find((x) => x.tokenHash === hash));
      },
      async findLive(id: string) {
        return live(apiTokens.get(id));
      },
      async revoke(id: string) { const t = apiTokens.get(id); if (t) t.revoked = true; },
    }),
    pullTokens: track('pullTokens', {
      async create(input: Omit<PullTokenSecrets, 'id' | 'createdAt' | 'revokedAt'>) {
        if ([...pullTokens.values()].some((t) => t.username === input.username)) throw new AppError('CONFLICT', 'username taken');
        const t: PullTokenSecrets = { id: randomId(), ...input, createdAt: iso(), revokedAt: null };
        pullTokens.set(t.id, t);
        return strip(t, 'secretHash');
      },
      async getByUsername(username: string) { return copy([...pullTokens.values()].find((t) => t.username === username)); },
      async get(id: string) { const t = pullTokens.get(id); return t ? strip(t, 'secretHash') : null; },
      async list(accountId: string) { return [...pullTokens.values()].filter((t) => t.accountId === accountId).map((t) => strip(t, 'secretHash')); },
      async revoke(id: string) { const t = pullTokens.get(id); if (t && t.revokedAt === null) t.revokedAt = iso(); },
    }),
    settings: track('settings', {
      async get(key: string) { return settings.get(key) ?? null; },
      async setIfAbsent(key: string, value: string) {
        if (!settings.has(key)) settings.set(key, value);
        return settings.get(key)!;
      },
      async delete(key: string) { settings.delete(key); },
    }),
    repositories: unused('repositories'),
    manifests: unused('manifests'),
    tags: unused('tags'),
    async ping() {},
    async close() {},
  };
  return store as unknown as FakeMetadata;
}
