/** A credential of a remote build worker (`buildgrid worker`). */
export interface WorkerToken {
  id: string; name: string; createdBy: string; createdAt: string; lastUsedAt: string | null; revokedAt: string | null;
}

/** Worker tokens. Only hashes are stored; lookups by hash return live (not revoked) tokens only. */
export interface WorkerTokensRepo {
  create(input: { name: string; tokenHash: string; createdBy: string }): Promise<WorkerToken>;
  /** The live token with this hash, or null (unknown or revoked). */
  findByHash(tokenHash: string): Promise<WorkerToken | null>;
  /** Every token, revoked ones included, oldest first. */
  list(): Promise<WorkerToken[]>;
  /** Marks the token revoked; resolves to false when it does not exist or was already revoked. */
  revoke(id: string): Promise<boolean>;
  /** Records that the token was used (best effort, at most about once a minute per token). */
  touch(id: string): Promise<void>;
}
