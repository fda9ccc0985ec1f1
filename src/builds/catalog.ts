import { AppError, isAppError } from '../core/errors.ts';
import { slugify, isRepositoryName } from '../core/reference.ts';
import type { Account, Application, GitAuth, Metadata, Service } from '../metadata/types.ts';
import { encryptSecret } from '../auth/index.ts';
import { parseGitUrl, imageRepoComponent, type ParsedGitUrl } from './git/urls.ts';
import { generateDeployKey } from './git/deploy-keys.ts';
import { checkBranchName } from './branches.ts';

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
  /**
   * Validates the name, git URL, branch (git's rules) and paths, names the image repository, encrypts git secrets.
   * Throws INVALID for a bad field, CONFLICT when the name is taken in the application or the image repository
   * already exists (an import, a push, another service's images): a service never takes a repository it did not create.
   */
  addService(account: Account, app: Application, input: ServiceInput): Promise<Service>;
  /**
   * Changes a service (name and repository stay). A git URL on another host (scheme, host or port) drops the stored
   * git token unless a new one comes in the same patch; an SSH deploy key stays (its private half never leaves the
   * server). Throws INVALID for a bad field.
   */
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

/**
 * Checks a name a person gives to an application or service: 1 to 63 characters with a letter or digit, no control
 * characters, no "/" or "\\", not starting with "-" or ".". Returns it trimmed; throws INVALID naming what is wrong.
 */
export function checkName(raw: string, what: 'application' | 'service'): string {
  const name = raw.trim();
  const bad = (why: string) => new AppError('INVALID', `invalid ${what} name "${name.slice(0, 80).replace(/\p{Cc}/gu, '?')}": ${why}`);
  if (!name || name.length > 63) throw bad('use 1 to 63 characters');
  if (/\p{Cc}/u.test(name)) throw bad('it must not contain control characters (line breaks, tabs, …)');
  if (/[/\\]/.test(name)) throw bad('it must not contain "/" or "\\"');
  if (/^[-.]/.test(name)) throw bad('it must not start with "-" or "."');
  if (!slugify(name)) throw bad('it needs letters or digits');
  return name;
}

/** Scheme, host and port of a git URL (`ssh://github.com:22`): where its credentials are sent. Null for file://. */
export function gitOrigin(git: ParsedGitUrl): string | null {
  if (git.host === null) return null;
  const port = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(git.url) ? new URL(git.url).port : ''; // scp-like host:path has none
  const scheme = git.kind === 'ssh' ? 'ssh' : git.kind;
  return `${scheme}://${git.host.toLowerCase()}:${port || ({ https: '443', http: '80', ssh: '22' } as Record<string, string>)[scheme]}`;
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

  const claimed = (repository: string) => new AppError('CONFLICT',
    `the image repository ${repository} already exists and is not this service's (imported or pushed images, or another service's): `
    + 'a service only builds into a repository it creates. Create the service in an application with another name, '
    + `or ask an administrator to delete ${repository} first`);

  /** Throws CONFLICT when `repository` belongs to a sibling service or exists at all (imports, pushes, other services). */
  async function checkUnclaimed(repository: string, app: Application, siblings: Service[]): Promise<void> {
    const sibling = siblings.find((s) => s.repository === repository);
    if (sibling) {
      throw new AppError('CONFLICT', `the image repository ${repository} belongs to service ${sibling.name} of application ${app.name}: give this service another name`);
    }
    if (await metadata.repositories.get(repository)) throw claimed(repository);
  }

  /** The origin of a stored git URL (see gitOrigin); undefined, equal to no origin, when it no longer parses. */
  function storedOrigin(url: string): string | null | undefined {
    try {
      return gitOrigin(parseGitUrl(url, { allowLocal: true }));
    } catch {
      return undefined;
    }
  }

  return {
    async createApplication(account, name, env = {}) {
      const slug = slugify(checkName(name, 'application'));
      if (!slug || !isRepositoryName(`${account.namespace}/${slug}.x`)) {
        throw new AppError('INVALID', `invalid application name "${name.slice(0, 80)}": it needs letters or digits`);
      }
      return metadata.applications.create({ accountId: account.id, name: name.trim(), slug, env: checkVariables(env, 'variable') });
    },
    async setEnv(app, env) {
      return metadata.applications.setEnv(app.id, checkVariables(env, 'variable'));
    },
    async addService(account, app, input) {
      const name = checkName(input.name, 'service');
      const git = parseGitUrl(input.gitUrl.trim(), { allowLocal: opts.allowLocalGit });
      const branch = checkBranchName(input.branch?.trim() || 'main');
      const base = `${account.namespace}/${app.slug}.${imageRepoComponent(git.repoName)}`;
      const existing = await metadata.services.list(app.id);
      if (existing.some((s) => s.name === name)) throw new AppError('CONFLICT', `application ${app.name} already has a service named ${name}`);
      // Two services of one application from the same repository (a monorepo) would share a name: the later ones
      // are suffixed with their service name, e.g. acme/shop.monorepo-api.
      const repository = existing.some((s) => s.repository === base) ? `${base}-${slugify(name)}` : base;
      if (!isRepositoryName(repository)) throw new AppError('INVALID', `the image name ${repository} is not valid; rename the service or application`);
      await checkUnclaimed(repository, app, existing);
      const { auth } = await gitAuthFor(input, repository);
      try {
        return await metadata.services.create({
          applicationId: app.id, name, gitUrl: git.url, branch,
          dockerfile: checkRepoPath(input.dockerfile ?? 'Dockerfile', 'Dockerfile path'),
          context: checkRepoPath(input.context ?? '.', 'build root'),
          buildArgs: checkVariables(input.buildArgs ?? {}, 'build arg'),
          repository, gitAuth: auth, pollIntervalSeconds: input.pollIntervalSeconds ?? null,
        });
      } catch (err) {
        // Lost a race with another add: the database's unique keys (name per application, repository) decide.
        if (isAppError(err, 'CONFLICT') && /repository/.test(err.message)) throw claimed(repository);
        if (isAppError(err, 'CONFLICT')) throw new AppError('CONFLICT', `application ${app.name} already has a service named ${name}`);
        throw err;
      }
    },
    async updateService(service, patch) {
      const next: Partial<Service> = {};
      if (patch.gitUrl !== undefined) {
        const git = parseGitUrl(patch.gitUrl.trim(), { allowLocal: opts.allowLocalGit });
        next.gitUrl = git.url;
        // A token is for the host it was made on: never send it to another one (a developer could read it there).
        if (service.gitAuth.kind === 'token' && patch.gitToken === undefined && gitOrigin(git) !== storedOrigin(service.gitUrl)) {
          next.gitAuth = { kind: 'none' };
        }
      }
      if (patch.branch !== undefined) next.branch = checkBranchName(patch.branch.trim() || 'main');
      if (patch.dockerfile !== undefined) next.dockerfile = checkRepoPath(patch.dockerfile, 'Dockerfile path');
      if (patch.context !== undefined) next.context = checkRepoPath(patch.context, 'build root');
      if (patch.buildArgs !== undefined) next.buildArgs = checkVariables(patch.buildArgs, 'build arg');
      if (patch.pollIntervalSeconds !== undefined) next.pollIntervalSeconds = patch.pollIntervalSeconds;
      if (patch.gitToken !== undefined) next.gitAuth = (await gitAuthFor({ name: service.name, gitUrl: service.gitUrl, gitToken: patch.gitToken }, service.repository)).auth;
      return metadata.services.update(service.id, next);
    },
  };
}
