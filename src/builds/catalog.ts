import { AppError, isAppError } from '../core/errors.ts';
import { slugify, isRepositoryName } from '../core/reference.ts';
import type { Account, Application, GitAuth, Metadata, Service } from '../metadata/types.ts';
import { encryptSecret } from '../auth/index.ts';
import { parseGitUrl, imageRepoComponent } from './git/urls.ts';
import { generateDeployKey } from './git/deploy-keys.ts';

/** What a person gives to add a service. */
export interface ServiceInput {
  name: string;
  gitUrl: string;
  branch?: string;
  dockerfile?: string;
  context?: string;
  buildArgs?: Record<string, string>;
  /** HTTPS token for a private repository (username defaults to `git`). */
  gitToken?: { username?: string; token: string };
  /** Generate an SSH deploy key for this service; its public half is returned. */
  sshDeployKey?: boolean;
  pollIntervalSeconds?: number | null;
}

/** Applications and services: validation, naming, secrets at rest. */
export interface Catalog {
  /** Throws INVALID for an unusable name, CONFLICT when the account has an application with that slug. */
  createApplication(account: Account, name: string, env?: Record<string, string>): Promise<Application>;
  setEnv(app: Application, env: Record<string, string>): Promise<Application>;
  /** Validates the git URL and paths, names the image repository, encrypts git secrets. */
  addService(account: Account, app: Application, input: ServiceInput): Promise<Service>;
  /** Changes a service (name and repository stay). */
  updateService(service: Service, patch: Omit<Partial<ServiceInput>, 'name' | 'sshDeployKey'>): Promise<Service>;
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Checks build-arg / env names: shell-variable syntax, values at most 32 KiB. Throws INVALID. */
export function checkVariables(vars: Record<string, string>, what: string): Record<string, string> {
  for (const [k, v] of Object.entries(vars)) {
    if (!ENV_KEY.test(k)) throw new AppError('INVALID', `invalid ${what} name "${k.slice(0, 40)}": use letters, digits and _ (not starting with a digit)`);
    if (typeof v !== 'string' || v.length > 32768) throw new AppError('INVALID', `${what} ${k} must be a string of at most 32 KiB`);
  }
  return vars;
}

/** A path inside the repository: relative, no `..` escaping, no NUL. Throws INVALID. */
export function checkRepoPath(p: string, what: string): string {
  const norm = p.replace(/\\/g, '/').replace(/^\.\/+/, '') || '.';
  if (norm.startsWith('/') || norm.split('/').includes('..') || /[\0\n\r]/.test(norm) || norm.length > 1024) {
    throw new AppError('INVALID', `invalid ${what} "${p.slice(0, 80)}": give a path relative to the repository root, without ..`);
  }
  return norm;
}

/** Creates the catalog. */
export function createCatalog(opts: { metadata: Metadata; secretKey: Uint8Array; allowLocalGit: boolean }): Catalog {
  const { metadata } = opts;

  async function gitAuthFor(input: ServiceInput, aad: string): Promise<{ auth: GitAuth; publicKey?: string }> {
    if (input.gitToken && input.sshDeployKey) throw new AppError('INVALID', 'choose either a git token or an SSH deploy key, not both');
    if (input.gitToken) {
      if (!input.gitToken.token) throw new AppError('INVALID', 'the git token is empty');
      return { auth: { kind: 'token', username: input.gitToken.username || 'git', tokenEnc: encryptSecret(opts.secretKey, input.gitToken.token, aad) } };
    }
    if (input.sshDeployKey) {
      const key = await generateDeployKey(`buildgrid-${aad}`);
      return { auth: { kind: 'ssh', publicKey: key.publicKey, privateKeyEnc: encryptSecret(opts.secretKey, key.privateKey, aad) }, publicKey: key.publicKey };
    }
    return { auth: { kind: 'none' } };
  }

  return {
    async createApplication(account, name, env = {}) {
      const slug = slugify(name);
      if (!slug || !isRepositoryName(`${account.namespace}/${slug}.x`)) {
        throw new AppError('INVALID', `invalid application name "${name.slice(0, 80)}": it needs letters or digits`);
      }
      return metadata.applications.create({ accountId: account.id, name: name.trim(), slug, env: checkVariables(env, 'variable') });
    },
    async setEnv(app, env) {
      return metadata.applications.setEnv(app.id, checkVariables(env, 'variable'));
    },
    async addService(account, app, input) {
      const name = input.name.trim();
      if (!name || name.length > 63 || !slugify(name)) throw new AppError('INVALID', `invalid service name "${name.slice(0, 80)}"`);
      const git = parseGitUrl(input.gitUrl.trim(), { allowLocal: opts.allowLocalGit });
      const base = `${account.namespace}/${app.slug}.${imageRepoComponent(git.repoName)}`;
      const existing = await metadata.services.list(app.id);
      // Two services of one application from the same repository (a monorepo) would share a name: the later ones
      // are suffixed with their service name, e.g. acme/shop.monorepo-api.
      const repository = existing.some((s) => s.repository === base) ? `${base}-${slugify(name)}` : base;
      if (!isRepositoryName(repository)) throw new AppError('INVALID', `the image name ${repository} is not valid; rename the service or application`);
      const { auth } = await gitAuthFor(input, repository);
      try {
        return await metadata.services.create({
          applicationId: app.id, name, gitUrl: git.url, branch: input.branch?.trim() || 'main',
          dockerfile: checkRepoPath(input.dockerfile ?? 'Dockerfile', 'Dockerfile path'),
          context: checkRepoPath(input.context ?? '.', 'build root'),
          buildArgs: checkVariables(input.buildArgs ?? {}, 'build arg'),
          repository, gitAuth: auth, pollIntervalSeconds: input.pollIntervalSeconds ?? null,
        });
      } catch (err) {
        if (isAppError(err, 'CONFLICT')) throw new AppError('CONFLICT', `application ${app.name} already has a service named ${name}`);
        throw err;
      }
    },
    async updateService(service, patch) {
      const next: Partial<Service> = {};
      if (patch.gitUrl !== undefined) next.gitUrl = parseGitUrl(patch.gitUrl.trim(), { allowLocal: opts.allowLocalGit }).url;
      if (patch.branch !== undefined) next.branch = patch.branch.trim() || 'main';
      if (patch.dockerfile !== undefined) next.dockerfile = checkRepoPath(patch.dockerfile, 'Dockerfile path');
      if (patch.context !== undefined) next.context = checkRepoPath(patch.context, 'build root');
      if (patch.buildArgs !== undefined) next.buildArgs = checkVariables(patch.buildArgs, 'build arg');
      if (patch.pollIntervalSeconds !== undefined) next.pollIntervalSeconds = patch.pollIntervalSeconds;
      if (patch.gitToken !== undefined) next.gitAuth = (await gitAuthFor({ name: service.name, gitUrl: service.gitUrl, gitToken: patch.gitToken }, service.repository)).auth;
      return metadata.services.update(service.id, next);
    },
  };
}
