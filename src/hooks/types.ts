import type { Account, Application, Service } from '../metadata/types.ts';

/**
 * What hooks/ needs from the builder, injected by the composition root (hooks may not import builds): start a
 * deployment of some services of an application, optionally at an exact commit, and read a branch head.
 */

export interface DeployRequest {
  account: Account;
  app: Application;
  /** Names of the services to build (all of them follow `branch` when it is given). */
  services: string[];
  /** The branch pushed; absent = each service's own branch. */
  branch?: string;
  /** Build exactly this commit; absent = the branch head. */
  commit?: string;
  trigger: 'hook' | 'poll';
  /** Who or what caused it, e.g. `github:octocat` or `poller`. */
  triggeredBy: string;
}

/** One service's build behind a deployment: a new one, or an earlier build of the same commit (`reused`). */
export interface DeployedBuild { service: string; buildId: string; status: string; commit: string | null; reused: boolean }

export interface DeployOutcome { deploymentId: string; status: string; builds: DeployedBuild[] }

/** Starts a deployment. Throws AppError like the deployer (NOT_FOUND for a missing branch, …). */
export type DeployFn = (req: DeployRequest) => Promise<DeployOutcome>;

/** The commit at the head of the service's branch (`git ls-remote`). */
export type ResolveHeadFn = (service: Service) => Promise<string>;
