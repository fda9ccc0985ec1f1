/** The auth module's public surface: people, registry credentials, access rules and registry tokens. */
export type {
  AccessEntry, AccessRules, Action, Authenticated, CredentialRef, Principal, RegistryAuthenticator, RegistryTokens,
} from './types.ts';
export { createAuthCache, type AuthCache } from './cache.ts';
export { hashPassword, verifyPassword } from './passwords.ts';
export { decryptSecret, encryptSecret, generateSecretKey, parseSecretKey } from './secretbox.ts';
export { createLoginLimiter, limitKey, retryAfterHeader, type LoginLimiter, type LoginLimiterOptions } from './ratelimit.ts';
export { createPeople, registryUsernameFor, type People, type PeopleOptions, type RegistryCredentials, type Users } from './people.ts';
export { isNamespace, reservedNamespaces, type Accounts, type ReservedNamespaces } from './accounts.ts';
export { PULL_TOKEN_PREFIX, type NewPullToken, type PullTokens } from './pull-tokens.ts';
export { API_TOKEN_PREFIX } from './api-tokens.ts';
export {
  API_TOKEN_NOT_ADMIN, createRegistryAuthenticator, INVALID_CREDENTIALS,
  type CachingRegistryAuthenticator, type RegistryAuthenticatorOptions,
} from './registry-auth.ts';
export { createAccessRules, type AccessRulesOptions, type CachingAccessRules } from './access.ts';
export { createRegistryTokens, grantedAccess, JWK_SETTING, parseScope, SEALED_JWK_SETTING, subjectOf, type RegistryTokensOptions } from './tokens.ts';
export { createJobTokens, JOB_TOKEN_PREFIX, type JobTokenInput, type JobTokens } from './job-tokens.ts';
export { createWorkerTokens, WORKER_TOKEN_PREFIX, type WorkerPrincipal, type WorkerTokens } from './worker-tokens.ts';
