import { z } from 'zod';

/**
 * The one configuration schema. Every key can come from the config file (JSON, camelCase keys) or from the environment
 * as BUILDGRID_<UPPER_SNAKE> (e.g. dataDir ← BUILDGRID_DATA_DIR). Unknown keys are rejected.
 */
export const configSchema = z
  .object({
    /** TCP port of `buildgrid serve`. */
    port: z.coerce.number().int().min(0).max(65535).default(5000),
    /** Address to bind. */
    host: z.string().default('0.0.0.0'),
    /** Directory for the SQLite database, blobs, uploads and keys. */
    dataDir: z.string().default('./data'),
    /** The URL people and clients use to reach this server (image URLs, token realm). Default http://localhost:<port>. */
    publicUrl: z.string().url().optional(),
    /** First administrator's email (created on first start). */
    adminEmail: z.string().email().default('admin@buildgrid.local'),
    /** First administrator's password; generated and printed once when unset. */
    adminPassword: z.string().min(8).optional(),
    /** Lifetime of registry bearer tokens, seconds. */
    tokenTtlSeconds: z.coerce.number().int().min(30).max(86400).default(300),
    /** Failed logins per source within a minute before further attempts are refused for a while. */
    loginFailuresPerMinute: z.coerce.number().int().min(1).default(10),
    /** Largest manifest accepted, bytes. */
    maxManifestBytes: z.coerce.number().int().min(1024).default(4 * 1024 * 1024),
    /** Upload sessions untouched for this long are discarded, seconds. */
    uploadTtlSeconds: z.coerce.number().int().min(60).default(24 * 3600),
    /** Allow file:// git URLs (tests, single-user setups). */
    allowLocalGit: z
      .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
      .transform((v) => v === true || v === 'true' || v === '1')
      .default(false),
    /** Builds run at once in this process (default: one per CPU core); 0 = no in-process workers. */
    buildConcurrency: z.coerce.number().int().min(0).max(64).optional(),
    /** A build running longer than this fails. */
    buildTimeoutMinutes: z.coerce.number().min(1).max(24 * 60).default(30),
    /** How often a running build proves it is alive. */
    buildHeartbeatSeconds: z.coerce.number().min(0.2).max(300).default(5),
    /** A running build whose heartbeat is older than this is reclaimed (retried once, then failed). */
    buildStaleSeconds: z.coerce.number().min(1).max(3600).default(30),
    /** Build engine: buildah (daemonless, default) or docker (a Docker Engine at dockerHost). */
    buildEngine: z.enum(['buildah', 'docker']).default('buildah'),
    /** Docker Engine socket for buildEngine=docker, e.g. unix:///var/run/docker.sock. */
    dockerHost: z.string().optional(),
    /** Namespaces every build may pull base images from (FROM), comma-separated in the environment. */
    baseNamespaces: z.union([z.array(z.string()), z.string().transform((v) => v.split(',').map((x) => x.trim()).filter(Boolean))]).default(['library']),
    /** Largest stored build log, bytes; later output is replaced by a truncation mark. */
    logMaxBytes: z.coerce.number().int().min(1024).default(8 * 1024 * 1024),
    /** pino log level. */
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict();

/** The validated, frozen configuration. */
export type Config = Readonly<z.infer<typeof configSchema> & { publicUrl: string }>;
