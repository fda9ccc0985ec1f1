import { AppError } from '../core/errors.ts';
import type { Account, Application, HookDeliveryStatus, Metadata, Service } from '../metadata/types.ts';
import { parseHook, skipMarker, type Headers, type ParsedHook, type RefUpdate } from './parse.ts';
import { openHookSecret } from './secrets.ts';
import type { DeployFn, DeployedBuild } from './types.ts';
import { verifyRequest } from './verify.ts';

/**
 * Handles one request to an application's redeploy hook: authenticate (a refusal is counted on the hook), parse,
 * drop a delivery seen before, then for each pushed branch pick the services that follow it (narrowed by
 * `?services=`), honour skip markers, and deploy the pushed commit. Every accepted request is logged on the hook.
 */

export interface HookRequest {
  hookId: string;
  headers: Headers;
  contentType: string | undefined;
  /** The raw body, exactly as received (signatures cover these bytes). */
  body: Buffer;
  /** `?key=`: the secret carried in the URL. */
  key?: string;
  /** `?services=a,b`. */
  services?: string;
}

/** What happened to one pushed branch. */
export interface BranchResult {
  branch: string | null; commit: string | null;
  status: 'accepted' | 'skipped' | 'ignored';
  message: string;
  deploymentId: string | null;
  builds: DeployedBuild[];
}

export interface HookReply {
  statusCode: 200 | 202;
  body: {
    status: 'accepted' | 'skipped' | 'ignored' | 'duplicate' | 'pong';
    message: string;
    /** Id of the delivery in the hook's log. */
    delivery: string | null;
    results: BranchResult[];
  };
}

export interface HookReceiver {
  /** Throws AppError NOT_FOUND (no such hook), UNAUTHORIZED (wrong secret), INVALID (malformed payload or ?services). */
  handle(req: HookRequest): Promise<HookReply>;
}

export function createHookReceiver(opts: { metadata: Metadata; secretKey: Uint8Array; deploy: DeployFn }): HookReceiver {
  const { metadata } = opts;

  async function forBranch(account: Account, app: Application, services: Service[], u: RefUpdate, parsed: ParsedHook, narrowed: string[] | null): Promise<BranchResult> {
    const base = { branch: u.branch, commit: u.commit, deploymentId: null, builds: [] };
    const following = services.filter((s) => (u.branch === null || s.branch === u.branch) && (!narrowed || narrowed.includes(s.name)));
    if (following.length === 0) {
      const which = narrowed ? `none of ${narrowed.join(', ')}` : 'no service';
      const branches = [...new Set(services.map((s) => s.branch))].join(', ') || '(no services yet)';
      return { ...base, status: 'ignored', message: `${which} follows branch ${u.branch} (services follow: ${branches}); nothing to build` };
    }
    const marker = skipMarker(u.message);
    if (marker) return { ...base, status: 'skipped', message: `commit ${u.commit?.slice(0, 7) ?? ''} of ${u.branch ?? 'the branch'} says ${marker} in its message; not building` };
    const r = await opts.deploy({
      account, app, services: following.map((s) => s.name), branch: u.branch ?? undefined, commit: u.commit ?? undefined,
      trigger: 'hook', triggeredBy: parsed.pusher ? `${parsed.provider}:${parsed.pusher}` : parsed.provider,
    });
    const said = r.builds.map((b) => `${b.service} ${b.reused && b.status === 'succeeded' ? 'is already built at' : b.reused ? 'is already building' : 'builds'} ${b.commit?.slice(0, 7) ?? u.branch ?? ''}`);
    return { ...base, commit: u.commit ?? r.builds[0]?.commit ?? null, status: 'accepted', message: said.join('; '), deploymentId: r.deploymentId, builds: r.builds };
  }

  return {
    async handle(req) {
      const hook = await metadata.hooks.get(req.hookId);
      if (!hook) throw new AppError('NOT_FOUND', 'no such hook: copy the URL again from `buildgrid hooks show APP`');
      const verdict = verifyRequest(openHookSecret(opts.secretKey, hook), req.headers, req.key, req.body);
      if (!verdict.ok) {
        await metadata.hooks.recordAuthFailure(hook.id, verdict.reason);
        throw new AppError('UNAUTHORIZED', `${verdict.reason}; copy the URL and secret from \`buildgrid hooks show APP\` (nothing was started)`);
      }
      const parsed = parseHook(req.headers, req.contentType, req.body);
      const [app, account] = await Promise.all([metadata.applications.get(hook.applicationId), metadata.accounts.get(hook.accountId)]);
      if (!app || !account) throw new AppError('NOT_FOUND', 'the application of this hook no longer exists');
      const services = await metadata.services.list(app.id);
      const narrowed = req.services === undefined ? null : req.services.split(',').map((s) => s.trim()).filter(Boolean);
      for (const n of narrowed ?? []) {
        if (!services.some((s) => s.name === n)) throw new AppError('INVALID', `?services names ${n}, but application ${app.name} has no such service (it has: ${services.map((s) => s.name).join(', ') || 'none'})`);
      }
      const first = parsed.updates[0];
      const started = await metadata.hooks.startDelivery({
        hookId: hook.id, applicationId: app.id, provider: parsed.provider, event: parsed.event, deliveryKey: parsed.deliveryKey,
        branch: first?.branch ?? null, commit: first?.commit ?? null,
      });
      const d = started.delivery;
      if (started.duplicate) {
        return { statusCode: 200, body: { status: 'duplicate', message: `delivery ${parsed.deliveryKey} was received before (${d.status}: ${d.message}); nothing to do`, delivery: d.id, results: [] } };
      }
      const finish = (status: HookDeliveryStatus, message: string, deploymentId: string | null = null) =>
        metadata.hooks.finishDelivery(d.id, { status, message, deploymentId });
      if (parsed.kind === 'ping') {
        await finish('ignored', `${parsed.event}: the hook works`);
        return { statusCode: 200, body: { status: 'pong', message: `hook for ${account.namespace}/${app.slug} is set up; pushes will be built`, delivery: d.id, results: [] } };
      }
      if (parsed.kind === 'other') {
        const message = `${parsed.provider} event "${parsed.event}" is not a push; BuildGrid builds on push events only`;
        await finish('ignored', message);
        return { statusCode: 202, body: { status: 'ignored', message, delivery: d.id, results: [] } };
      }
      const results: BranchResult[] = [];
      try {
        for (const u of parsed.updates) results.push(await forBranch(account, app, services, u, parsed, narrowed));
      } catch (err) {
        await finish('error', `deploying failed: ${(err as Error).message}`);
        throw err;
      }
      const status = results.some((r) => r.status === 'accepted') ? 'accepted' : results.some((r) => r.status === 'skipped') ? 'skipped' : 'ignored';
      const message = [...results.map((r) => r.message), ...parsed.ignored.map((i) => `${i}; ignored`)].join('. ') || 'the push changed no branch; nothing to build';
      await finish(status, message, results.find((r) => r.deploymentId)?.deploymentId ?? null);
      return { statusCode: 202, body: { status, message, delivery: d.id, results } };
    },
  };
}
