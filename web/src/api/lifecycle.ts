import { api, call } from './client';
import type { AppUsage, LifecycleRun, LifecycleRunDetail, PolicyBody, PolicyReply, RetentionPolicy, RetentionReport, TrashEntry, UsageReport } from './types';

/**
 * The lifecycle API (retention, trash, usage; garbage collection and fsck for administrators) as the dashboard uses
 * it. Every call resolves to the answer's data or throws ApiError with the server's message (see client.ts).
 */

/** Where a policy or a retention run applies: an account (its default, all its applications) or one application. */
export interface Scope { ns: string; app?: string }

const acct = (ns: string) => ({ params: { path: { namespace: ns } } });
const appP = (ns: string, app: string) => ({ params: { path: { namespace: ns, app } } });

/** The policy set at `s` and the one in force there. */
export const getPolicy = (s: Scope): Promise<PolicyReply> => (s.app
  ? call(api.GET('/api/v1/accounts/{namespace}/apps/{app}/retention', appP(s.ns, s.app)))
  : call(api.GET('/api/v1/accounts/{namespace}/retention', acct(s.ns))));

/** Sets the policy at `s` (owners); throws ApiError 400 for a policy that keeps nothing by count or age. */
export const setPolicy = (s: Scope, body: PolicyBody): Promise<RetentionPolicy> => (s.app
  ? call(api.PUT('/api/v1/accounts/{namespace}/apps/{app}/retention', { ...appP(s.ns, s.app), body }))
  : call(api.PUT('/api/v1/accounts/{namespace}/retention', { ...acct(s.ns), body })));

/** Removes the policy at `s` (owners); an application then follows the account default. */
export const clearPolicy = async (s: Scope): Promise<void> => {
  await (s.app
    ? call(api.DELETE('/api/v1/accounts/{namespace}/apps/{app}/retention', appP(s.ns, s.app)))
    : call(api.DELETE('/api/v1/accounts/{namespace}/retention', acct(s.ns))));
};

/** Applies retention at `s`, or with dryRun only reports what it would remove (developers; a real run: owners). */
export const runRetention = (s: Scope, dryRun: boolean): Promise<RetentionReport> => (s.app
  ? call(api.POST('/api/v1/accounts/{namespace}/apps/{app}/retention/run', { ...appP(s.ns, s.app), body: { dryRun } }))
  : call(api.POST('/api/v1/accounts/{namespace}/retention/run', { ...acct(s.ns), body: { dryRun } })));

/** Removed images of the account (of one application with `app`), restored and purged ones too. */
export const listTrash = (ns: string, app?: string): Promise<TrashEntry[]> =>
  call(api.GET('/api/v1/accounts/{namespace}/trash', { params: { path: { namespace: ns }, query: { all: 'true', ...(app ? { app } : {}) } } }));

/** Puts a removed image and its tags back (developers); throws ApiError 409 when it was purged or a tag moved. */
export const restoreImage = (ns: string, id: string): Promise<TrashEntry> =>
  call(api.POST('/api/v1/accounts/{namespace}/trash/{id}/restore', { params: { path: { namespace: ns, id } } }));

/** Storage usage of the account, its applications and repositories. */
export const accountUsage = (ns: string): Promise<UsageReport> => call(api.GET('/api/v1/accounts/{namespace}/usage', acct(ns)));

/** Storage usage of one application and its repositories. */
export const appUsage = (ns: string, app: string): Promise<AppUsage> => call(api.GET('/api/v1/accounts/{namespace}/apps/{app}/usage', appP(ns, app)));

/** Administrators: the whole store's usage. */
export const storeUsage = (): Promise<UsageReport> => call(api.GET('/api/v1/admin/usage'));

/** Administrators: past and running garbage collections, fsck and retention runs, newest first. */
export const listRuns = (): Promise<LifecycleRun[]> => call(api.GET('/api/v1/admin/lifecycle/runs', { params: { query: { limit: 50 } } }));

/** Administrators: one run with its full report. */
export const getRun = (id: string): Promise<LifecycleRunDetail> => call(api.GET('/api/v1/admin/lifecycle/runs/{id}', { params: { path: { id } } }));

/** Administrators: starts a collection in the background; throws ApiError 409 while another run is going. */
export const startGc = (dryRun: boolean): Promise<LifecycleRun> =>
  call(api.POST('/api/v1/admin/gc', { body: { dryRun, retention: true, wait: false } })) as Promise<LifecycleRun>;

/** Administrators: starts fsck in the background; throws ApiError 409 while another run is going. */
export const startFsck = (repair: boolean): Promise<LifecycleRun> =>
  call(api.POST('/api/v1/admin/fsck', { body: { repair, wait: false } })) as Promise<LifecycleRun>;
