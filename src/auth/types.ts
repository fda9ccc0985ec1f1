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
   * `pullNamespaces` (its account's namespace and the shared base-image namespace) to resolve FROM lines.
   */
  | { kind: 'job'; id: string; repository: string; pullNamespaces: string[] };

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
}

/** Verifies registry credentials (Basic auth on /v2 and at the token endpoint). */
export interface RegistryAuthenticator {
  /**
   * Resolves the principal for username/password: a user's BuildGrid registry credentials, a pull token, or an API
   * token (password `bga_…`, any username). Throws AppError UNAUTHORIZED on bad credentials, TOOMANYREQUESTS when
   * `source` has failed too often recently (failures are counted per source).
   */
  authenticate(username: string, password: string, source: string): Promise<Principal>;
}

/** Issues and verifies the registry's short-lived signed bearer tokens (JWT, ES256). */
export interface RegistryTokens {
  issue(p: Principal, access: AccessEntry[], service: string): Promise<{ token: string; expiresIn: number; issuedAt: string }>;
  /** Verifies signature, expiry, audience. Throws AppError UNAUTHORIZED when invalid. Cached per token string. */
  verify(token: string, service: string): Promise<{ principal: Principal; access: AccessEntry[] }>;
}
