import { randomId } from '../core/ids.ts';
import type { Account, AppHook, Application, HookDelivery, Metadata } from '../metadata/types.ts';
import { newHookSecret, openHookSecret, sealHookSecret } from './secrets.ts';

/** What `buildgrid hooks show` prints: the redeploy hook of an application, its refusals, and polling. */
export interface HookInfo {
  id: string;
  /** The URL with the secret in it (`?key=`): enough on its own for any host and for `curl`. */
  url: string;
  /** The same URL without the secret, for hosts that sign the body with it (GitHub, Bitbucket) or send it (GitLab). */
  signedUrl: string;
  secret: string;
  failedAuthCount: number; lastFailedAuthAt: string | null; lastFailedAuthReason: string | null;
  lastDeliveryAt: string | null; createdAt: string; rotatedAt: string | null;
  polling: Array<{ service: string; branch: string; everySeconds: number; lastPolledAt: string | null; lastCommit: string | null; lastError: string | null }>;
}

/** Reading, creating (on first look) and rotating hooks. */
export interface HookAdmin {
  /** The application's hook, created with a new secret the first time. */
  show(account: Account, app: Application): Promise<HookInfo>;
  /** A new secret: the old URL and secret stop working at once. */
  rotate(account: Account, app: Application): Promise<HookInfo>;
  /** What the hook received, newest first. */
  deliveries(account: Account, app: Application, limit: number): Promise<HookDelivery[]>;
}

export function createHookAdmin(opts: { metadata: Metadata; secretKey: Uint8Array; publicUrl: string }): HookAdmin {
  const { metadata } = opts;
  const base = opts.publicUrl.replace(/\/+$/, '');

  async function ensure(account: Account, app: Application): Promise<AppHook> {
    const existing = await metadata.hooks.getByApplication(app.id);
    if (existing) return existing;
    const id = randomId();
    return metadata.hooks.ensure({ id, applicationId: app.id, accountId: account.id, secretEnc: sealHookSecret(opts.secretKey, id, newHookSecret()) });
  }

  async function info(app: Application, hook: AppHook): Promise<HookInfo> {
    const secret = openHookSecret(opts.secretKey, hook);
    const signedUrl = `${base}/hooks/${hook.id}`;
    const polled = (await metadata.services.list(app.id)).filter((s) => s.pollIntervalSeconds !== null);
    const polling = await Promise.all(polled.map(async (s) => {
      const st = await metadata.polls.get(s.id);
      return {
        service: s.name, branch: s.branch, everySeconds: s.pollIntervalSeconds!,
        lastPolledAt: st?.lastPolledAt || null, lastCommit: st?.lastCommit ?? null, lastError: st?.lastError ?? null,
      };
    }));
    return {
      id: hook.id, url: `${signedUrl}?key=${encodeURIComponent(secret)}`, signedUrl, secret,
      failedAuthCount: hook.failedAuthCount, lastFailedAuthAt: hook.lastFailedAuthAt, lastFailedAuthReason: hook.lastFailedAuthReason,
      lastDeliveryAt: hook.lastDeliveryAt, createdAt: hook.createdAt, rotatedAt: hook.rotatedAt, polling,
    };
  }

  return {
    async show(account, app) {
      return info(app, await ensure(account, app));
    },
    async rotate(account, app) {
      const hook = await ensure(account, app);
      return info(app, await metadata.hooks.rotate(hook.id, sealHookSecret(opts.secretKey, hook.id, newHookSecret())));
    },
    async deliveries(_account, app, limit) {
      const hook = await metadata.hooks.getByApplication(app.id);
      return hook ? metadata.hooks.listDeliveries(hook.id, limit) : [];
    },
  };
}
