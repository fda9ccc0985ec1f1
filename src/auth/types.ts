/**
 * Who is asking, and what they may do. The registry and the API depend on these contracts only.
 */

/** A registry action on one repository. */
export type Action = 'pull' | 'push' | 'delete';

/** An authenticated caller. */
export type Principal =
  | { kind: 'user'; id: string; email: string; isAdmin: boolean }
  | { kind: 'pull-token'; id: string; accountId: string; namespace: string; repositories: string[] | null }
  /**
   * The builder's job-scoped identity: may push and pull exactly its build's repository, and pull (never push) from
   * `pullNamespaces` (its account's namespace and the shared base-image namespace) to resolve FROM lines. It may set
   * one tag only, `tag` (the build's commit; null while the commit is not known: then no tag at all), and never delete.
   */
  | { kind: 'job'; id: string; repository: string; pullNamespaces: string[]; tag: string | null };

/**
 * The stored credential a principal proved, named without its secret, so that whatever was derived from it (a bearer
 * token) can be checked again later: a registry password (by a fingerprint of its hash, which rotation changes), an
 * API token or pull token (by id), or a job token (its build, the claim it was issued for, and its bound tag).
 */
export type CredentialRef =
  | { kind: 'registry-password'; userId: string; fingerprint: string }
  | { kind: 'api-token'; id: string }
  | { kind: 'pull-token'; id: string }
  | { kind: 'job'; buildId: string; attempt: number; repository: string; pullNamespaces: string[]; tag: string | null };

/** A verified credential: who it is, and which credential it was. */
export interface Authenticated { principal: Principal; credential: CredentialRef }

/** One grant in a registry token: the Docker token spec's `access` claim entry. */
export interface AccessEntry { type: 'repository' | 'registry'; name: string; actions: string[] }

/** Answers "may this principal do X". */
export interface AccessRules {
  /** The actions `p` may perform on repository `name` (empty when none; never throws for unknown repositories). */
  actionsFor(p: Principal, name: string): Promise<Set<Action>>;
  /**
   * Namespaces whose repositories `p` may list in the catalog; null means every namespace (administrators).
   * Callers still filter names through `actionsFor` for principals limited to some repositories.
   */
  listableNamespaces(p: Principal): Promise<string[] | null>;
  /**
   * Why `p`, which may push to `name`, may not point tag `tag` of it at a manifest — or null when it may. Only a job
   * is limited: to its one tag (its build's commit).
   */
  tagRefusal(p: Principal, name: string, tag: string): string | null;
}

/** Verifies registry credentials (Basic auth on /v2 and at the token endpoint). */
export interface RegistryAuthenticator {
  /**
   * Resolves the principal for username/password: a user's BuildGrid registry credentials, a pull token, a job token
   * (`bgj_…`) or an administrator's API token (password `bga_…`, any username). Throws AppError UNAUTHORIZED on bad
   * credentials, TOOMANYREQUESTS when this username failed too often recently from `source` (the client address) and
   * the password is wrong too; a valid credential is never refused for failures.
   */
  authenticate(username: string, password: string, source: string): Promise<Authenticated>;
  /**
   * The current principal behind `credential`, or null when it no longer stands: revoked, expired, rotated, its user
   * gone or no longer allowed, or (job) its build ended or was claimed again. Answers may be reused for a second or two
   * (see registry-auth.ts); revocations on this node are seen at once.
   */
  recheck(credential: CredentialRef): Promise<Principal | null>;
}

/** Issues and verifies the registry's short-lived signed bearer tokens (JWT, ES256). */
export interface RegistryTokens {
  /** A token for `p` (proved with `credential`) granting `access`, for audience `service`. */
  issue(p: Principal, access: AccessEntry[], service: string, credential: CredentialRef): Promise<{ token: string; expiresIn: number; issuedAt: string }>;
  /**
   * Verifies signature, expiry, audience. Throws AppError UNAUTHORIZED when invalid. Cached per token string. The
   * caller must still `recheck` the credential: the token proves only what was true when it was issued.
   */
  verify(token: string, service: string): Promise<{ principal: Principal; access: AccessEntry[]; credential: CredentialRef }>;
}
