/** A worker token (see migrations/0005_worker_tokens.ts); `token_hash` is unique. */
export interface WorkerTokensTable {
  id: string;
  name: string;
  token_hash: string;
  created_by: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** Tables of remote build workers. */
export interface WorkersTables { worker_tokens: WorkerTokensTable }
