import type { Build, BuildsRepo, Metadata, Service, ServicesRepo } from './types.ts';

/** Waits a few milliseconds so the next row gets a later createdAt (timestamps have millisecond precision). */
export function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 3));
}

/** A commit hash made from one repeated hex character. */
export function commitOf(c: string): string {
  return c.repeat(40);
}

/** An account, an application in it and two services, for the builds-milestone tests. */
export interface Seed {
  accountId: string;
  applicationId: string;
  api: Service;
  web: Service;
}

/** Input for services.create, with overridable fields. */
export function serviceInput(applicationId: string, name: string, extra: Partial<Parameters<ServicesRepo['create']>[0]> = {}) {
  return {
    applicationId, name, gitUrl: `https://git.example.com/acme/${name}.git`, branch: 'main', dockerfile: 'Dockerfile',
    context: '.', buildArgs: {}, repository: `acme/shop.${name}`, gitAuth: { kind: 'none' as const },
    pollIntervalSeconds: null, ...extra,
  };
}

/** Creates the Seed rows in `m`. */
export async function seed(m: Metadata, namespace = 'acme'): Promise<Seed> {
  const account = await m.accounts.create({ name: namespace, namespace });
  const app = await m.applications.create({ accountId: account.id, name: 'Shop', slug: 'shop', env: {} });
  const api = await m.services.create(serviceInput(app.id, 'api', { repository: `${namespace}/shop.api` }));
  const web = await m.services.create(serviceInput(app.id, 'web', { repository: `${namespace}/shop.web` }));
  return { accountId: account.id, applicationId: app.id, api, web };
}

/** Input for builds.create of `service`, with overridable fields. */
export function buildInput(s: Seed, service: Service = s.api, extra: Partial<Parameters<BuildsRepo['create']>[0]> = {}) {
  return {
    serviceId: service.id, applicationId: s.applicationId, accountId: s.accountId, deploymentId: null,
    trigger: 'web' as const, triggeredBy: 'al@example.com', branch: 'main', commit: null, repository: service.repository,
    force: false, rebuildOf: null, ...extra,
  };
}

/** Creates `n` builds of the api service, each with a later createdAt than the one before. */
export async function queueBuilds(m: Metadata, s: Seed, n: number): Promise<Build[]> {
  const out: Build[] = [];
  for (let i = 0; i < n; i++) {
    if (i > 0) await tick();
    out.push(await m.builds.create(buildInput(s)));
  }
  return out;
}

/** An instant `ms` milliseconds from now, as an ISO string (negative = in the past). */
export function fromNow(ms: number): string {
  return new Date(Date.now() + ms).toISOString();
}
