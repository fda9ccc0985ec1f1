import { AppError } from '../core/errors.ts';
import type { Account, Application, Build, Deployment, DeploymentItem, Metadata, Service, Trigger } from '../metadata/types.ts';
import type { EventBus } from '../events/bus.ts';
import type { GitFetcher } from './types.ts';
import { sourceFor } from './source.ts';
import { buildView } from './views.ts';
import { checkBranchName } from './branches.ts';

/** Who or what asked for work. */
export interface Cause { trigger: Trigger; triggeredBy: string }

/** Queues builds and deployments and concludes deployments when their builds finish. */
export interface Deployer {
  /**
   * Builds every service (or the named ones) at the head of its branch (or `branch` for all). A commit that already
   * has an image is not built again unless `force`; a build already queued or running for it is reused. Resolves to
   * the deployment and the build behind each service. Throws NOT_FOUND for an unknown service name or branch,
   * INVALID for a `branch` that breaks git's branch-name rules (before anything is fetched).
   * `commit` (a webhook's or the poller's) builds exactly that commit for the selected services instead of
   * resolving their branch heads.
   */
  deploy(input: Cause & { account: Account; app: Application; branch?: string; services?: string[]; force?: boolean; commit?: string }): Promise<{ deployment: Deployment; builds: Build[] }>;
  /** Queues a new build of the same service and commit as `build`, even though an image exists. */
  rebuild(build: Build, cause: Cause): Promise<Build>;
  /** Cancels a queued or running build (running builds stop at their next heartbeat). */
  cancel(build: Build): Promise<Build>;
  /** Concludes the deployment of a finished build when all of its builds are final. */
  buildFinished(build: Build): Promise<void>;
  /** Re-checks running deployments (after a restart). */
  recheck(): Promise<void>;
}

/** Creates the deployer. `kick` wakes the workers after queueing. */
export function createDeployer(opts: {
  metadata: Metadata; events: EventBus; git: GitFetcher; secretKey: Uint8Array; registryHost: string; kick: () => void;
}): Deployer {
  const { metadata, events } = opts;

  async function queueBuild(account: Account, app: Application, service: Service, branch: string, commit: string | null,
    cause: Cause, extra: { force: boolean; deploymentId: string | null; rebuildOf: string | null }): Promise<{ build: Build; reused: boolean }> {
    if (commit && !extra.force) {
      const done = await metadata.builds.findSucceeded(service.id, commit);
      if (done) return { build: done, reused: true };
    }
    if (!extra.force) {
      const active = await metadata.builds.findActive(service.id, commit, branch);
      if (active) return { build: active, reused: true };
    }
    const build = await metadata.builds.create({
      serviceId: service.id, applicationId: app.id, accountId: account.id, deploymentId: extra.deploymentId,
      trigger: cause.trigger, triggeredBy: cause.triggeredBy, branch, commit, repository: service.repository,
      force: extra.force, rebuildOf: extra.rebuildOf,
    });
    await events.record({ kind: 'build.queued', accountId: account.id, applicationId: app.id, buildId: build.id, payload: buildView(build, service, opts.registryHost) });
    opts.kick();
    return { build, reused: false };
  }

  const self: Deployer = {
    async deploy(input) {
      if (input.branch !== undefined) checkBranchName(input.branch);
      const all = await metadata.services.list(input.app.id);
      if (all.length === 0) throw new AppError('INVALID', `application ${input.app.name} has no services yet: add one with \`buildgrid services add\``);
      const wanted = input.services?.length ? input.services : null;
      for (const n of wanted ?? []) if (!all.some((s) => s.name === n)) throw new AppError('NOT_FOUND', `application ${input.app.name} has no service named ${n}`);
      const services = wanted ? all.filter((s) => wanted.includes(s.name)) : all;
      // Resolve every head first, so a missing branch fails the request before anything is queued.
      const heads = await Promise.all(services.map(async (s) => {
        const branch = input.branch ?? s.branch;
        return { service: s, branch, commit: input.commit ?? await opts.git.resolveBranch(sourceFor(s, opts.secretKey), branch, {}) };
      }));
      const deployment = await metadata.deployments.create({
        applicationId: input.app.id, accountId: input.account.id, branch: input.branch ?? null,
        trigger: input.trigger, triggeredBy: input.triggeredBy, items: [],
      });
      const builds: Build[] = [];
      const items: DeploymentItem[] = [];
      for (const h of heads) {
        const { build } = await queueBuild(input.account, input.app, h.service, h.branch, h.commit, input,
          { force: input.force ?? false, deploymentId: deployment.id, rebuildOf: null });
        builds.push(build);
        items.push({ serviceId: h.service.id, serviceName: h.service.name, branch: h.branch, buildId: build.id, commit: h.commit });
      }
      await metadata.deployments.setItems(deployment.id, items);
      await events.record({
        kind: 'deployment.started', accountId: input.account.id, applicationId: input.app.id,
        payload: { deploymentId: deployment.id, branch: deployment.branch, trigger: input.trigger, triggeredBy: input.triggeredBy, items },
      });
      await conclude(deployment.id);
      return { deployment: (await metadata.deployments.get(deployment.id))!, builds };
    },
    async rebuild(build, cause) {
      const service = await metadata.services.get(build.serviceId);
      const app = await metadata.applications.get(build.applicationId);
      const account = await metadata.accounts.get(build.accountId);
      if (!service || !app || !account) throw new AppError('NOT_FOUND', 'the service of this build no longer exists');
      const { build: b } = await queueBuild(account, app, service, build.branch, build.commit, cause, { force: true, deploymentId: null, rebuildOf: build.id });
      return b;
    },
    async cancel(build) {
      const b = await metadata.builds.requestCancel(build.id);
      if (!b) throw new AppError('NOT_FOUND', `build ${build.id} not found`);
      if (b.status === 'cancelled' && build.status === 'queued') {
        const service = await metadata.services.get(b.serviceId);
        await events.record({ kind: 'build.cancelled', accountId: b.accountId, applicationId: b.applicationId, buildId: b.id, payload: buildView(b, service, opts.registryHost) });
        await self.buildFinished(b);
      }
      return b;
    },
    async buildFinished(build) {
      if (build.deploymentId) await conclude(build.deploymentId);
    },
    async recheck() {
      for (const d of await metadata.deployments.listRunning()) await conclude(d.id);
    },
  };

  /** Finishes a deployment when every item's build is final: succeeded when all succeeded, else failed naming why. */
  async function conclude(deploymentId: string): Promise<void> {
    const d = await metadata.deployments.get(deploymentId);
    if (!d || d.status !== 'running' || d.items.length === 0) return;
    const builds = await Promise.all(d.items.map((i) => metadata.builds.get(i.buildId)));
    if (builds.some((b) => !b || !['succeeded', 'failed', 'cancelled'].includes(b.status))) return;
    const bad = builds.filter((b) => b!.status !== 'succeeded');
    const services = d.items.map((i, k) => ({
      service: i.serviceName, branch: i.branch, commit: builds[k]!.commit, buildId: builds[k]!.id, status: builds[k]!.status,
      image: builds[k]!.status === 'succeeded' ? `${opts.registryHost}/${builds[k]!.repository}:${builds[k]!.commit}` : null,
      imageId: builds[k]!.imageId, digest: builds[k]!.imageDigest, error: builds[k]!.error,
    }));
    const error = bad.length ? bad.map((b) => `${d.items.find((i) => i.buildId === b!.id)?.serviceName}: ${b!.status}${b!.error ? ` (${b!.error})` : ''}`).join('; ') : null;
    const finished = await metadata.deployments.finish(d.id, bad.length ? 'failed' : 'succeeded', error);
    if (!finished) return;
    await events.record({
      kind: bad.length ? 'deployment.failed' : 'deployment.succeeded', accountId: d.accountId, applicationId: d.applicationId,
      payload: { deploymentId: d.id, title: bad.length ? 'Deployment failed' : 'Application Deployed', branch: d.branch, services, error },
    });
  }

  return self;
}
