import type { Digest } from '../core/digest.ts';

/**
 * Contracts between the build pipeline and its tools: git fetching and build engines. The pipeline (builds/worker)
 * only depends on these; the composition root picks the concrete engine.
 */

/** How to reach a git repository. Secrets are decrypted by the caller just before use. */
export interface GitSource {
  url: string;
  auth: { kind: 'none' } | { kind: 'token'; username: string; token: string } | { kind: 'ssh'; privateKey: string };
  /** Stable key of the cached mirror (e.g. a hash of the URL); never a secret. */
  cacheKey: string;
}

/** What a commit says about itself. */
export interface CommitInfo { commit: string; message: string; author: string; date: string }

/** Fetches source code. Every method honours `signal` (kills git) and throws AppError with an actionable message. */
export interface GitFetcher {
  /** The commit at the head of `branch` (git ls-remote). Throws NOT_FOUND when the branch does not exist. */
  resolveBranch(src: GitSource, branch: string, opts: { signal?: AbortSignal }): Promise<string>;
  /**
   * Brings `commit` into the cached bare mirror (fetching only what is missing) and writes its tree into `dest`
   * (an empty or absent directory). Resolves to the commit's metadata. Lines of git's progress go to `log`.
   */
  checkout(src: GitSource, commit: string, dest: string, opts: { signal?: AbortSignal; log?: (line: string) => void }): Promise<CommitInfo>;
}

/** One build request to an engine. */
export interface EngineRequest {
  buildId: string;
  /** The checkout: the context and the Dockerfile must resolve (symlinks followed) inside it. Unset = not checked. */
  sourceDir?: string;
  /** Build root (context) directory. */
  contextDir: string;
  /** Absolute path of the Dockerfile. */
  dockerfile: string;
  buildArgs: Record<string, string>;
  /** Image labels (OCI annotations such as org.opencontainers.image.revision). */
  labels: Record<string, string>;
  /** Where to push: `registry` is host:port; `insecure` allows plain HTTP. */
  target: { registry: string; repository: string; tag: string; insecure: boolean };
  /** Registry credentials valid for pulling base images (FROM) and pushing the target. */
  credentials: { username: string; password: string };
  /** Key of the layer cache to reuse between builds (one per service). */
  cacheKey: string;
  signal: AbortSignal;
  /** Receives every output line of the engine, in order. */
  log: (line: string) => void;
  /** Called when the engine moves from building to pushing. */
  onPhase: (phase: 'building' | 'pushing') => void;
}

/** What an engine reports after a successful push. */
export interface EngineResult { manifestDigest: Digest }

/** A build engine (buildah, Docker Engine). Throws AppError INVALID for build errors (the log has the details), and rejects with an AbortError-like AppError when `signal` fires after killing its process tree. */
export interface BuildEngine {
  readonly name: string;
  /** Checks the engine can run here; throws AppError INVALID saying what to install or start. */
  check(): Promise<void>;
  buildAndPush(req: EngineRequest): Promise<EngineResult>;
}
