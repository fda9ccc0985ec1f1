import { z } from 'zod';
import { parseCidr } from '../core/client-address.ts';
import { parsePrivateNetworks } from '../core/netguard.ts';
import { upstreamsSchema } from './upstreams.ts';

/**
 * The one configuration schema. Every key can come from the config file (JSON, camelCase keys) or from the environment
 * as BUILDGRID_<UPPER_SNAKE> (e.g. dataDir ← BUILDGRID_DATA_DIR). Unknown keys are rejected.
 */
/** A boolean from JSON (true/false) or the environment ('true', 'false', '1', '0'). */
const flag = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
  .transform((v) => v === true || v === 'true' || v === '1');

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
    /**
     * How long a node answers repeated registry lookups (repository, tag → digest, manifest record) from memory,
     * seconds; 0 turns the cache off. A write on this node is seen at once; another node's moved or removed tag within
     * this time. New tags are never delayed (only found rows are cached).
     */
    registryCacheSeconds: z.coerce.number().min(0).max(60).default(2),
    /** Failed logins per source within a minute before further attempts are refused for a while. */
    loginFailuresPerMinute: z.coerce.number().int().min(1).default(10),
    /**
     * Reverse proxies (IP addresses or CIDRs; comma-separated in the environment) whose X-Forwarded-For names the
     * client: requests from them count against the client's address (login limits, audit). Empty = trust no header.
     */
    trustProxy: z
      .union([z.array(z.string()), z.string().transform((v) => v.split(',').map((x) => x.trim()).filter(Boolean))])
      .default([])
      .refine((l) => l.every((c) => parseCidr(c) !== null), { message: 'list IP addresses or CIDRs such as 10.0.0.0/8 or 127.0.0.1' }),
    /** Largest manifest accepted, bytes. */
    maxManifestBytes: z.coerce.number().int().min(1024).default(4 * 1024 * 1024),
    /** Upload sessions untouched for this long are discarded, seconds. */
    uploadTtlSeconds: z.coerce.number().int().min(60).default(24 * 3600),
    /** Allow file:// git URLs (tests, single-user setups). */
    allowLocalGit: z
      .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
      .transform((v) => v === true || v === 'true' || v === '1')
      .default(false),
    /**
     * Private destinations that notifications and git fetches may reach. false (default): loopback, RFC 1918, CGNAT,
     * link-local (cloud metadata), ULA, multicast and this machine's own addresses are refused; true: everything
     * (single-user setups); a list of CIDRs: those ranges only (environment: comma-separated or a JSON array).
     */
    allowPrivateNetworks: z.union([z.boolean(), z.string(), z.array(z.string())]).optional().transform((v, ctx): boolean | string[] => {
      try {
        return parsePrivateNetworks(v ?? false);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
    /** Builds run at once in this process (default: one per CPU core); 0 = no in-process workers. */
    buildConcurrency: z.coerce.number().int().min(0).max(64).optional(),
    /**
     * Builds one account may run at once across the cluster; its other builds wait while other accounts' builds are
     * claimed in turn (round-robin). Default: half the build slots, at least 1 — the slots being this node's
     * buildConcurrency plus the remote worker slots that asked it for work lately (builds/fairness.ts). 0 = fair
     * queueing off: first come, first served, no limit.
     */
    maxConcurrentBuildsPerAccount: z.coerce.number().int().min(0).max(1000).optional(),
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
    /**
     * The network of RUN steps: isolated (default: own network namespace with outbound access through slirp4netns;
     * loopback, private, link-local and this host's addresses unreachable), none (no network), host (this machine's
     * network — unsafe for untrusted code). The docker engine supports none and host only (see docs/security.md).
     */
    buildNetwork: z.enum(['isolated', 'none', 'host']).default('isolated'),
    /** IPv4 CIDRs RUN steps may reach although they are private (e.g. an internal package mirror); comma-separated in the environment. */
    buildAllowedNetworks: z.union([z.array(z.string()), z.string().transform((v) => v.split(',').map((x) => x.trim()).filter(Boolean))]).default([]),
    /** Memory limit of each RUN step, MiB (swap included); 0 = none. */
    buildMemoryMb: z.coerce.number().int().min(0).default(4096),
    /** CPU limit of each RUN step, cores (e.g. 1.5); 0 = none. */
    buildCpus: z.coerce.number().min(0).default(0),
    /** Most processes of each RUN step at once; 0 = none. */
    buildPidsLimit: z.coerce.number().int().min(0).default(2048),
    /**
     * How buildah isolates RUN steps: oci (default: runc with its own PID/IPC/UTS/mount/network namespaces,
     * no_new_privs, cgroup limits) or chroot (buildah's chroot isolation: RUN sees the host's processes and network and
     * can escape; only for hosts where runc cannot run and every repository is trusted).
     */
    buildIsolation: z.enum(['oci', 'chroot']).default('oci'),
    /** Namespaces every build may pull base images from (FROM), comma-separated in the environment. */
    baseNamespaces: z.union([z.array(z.string()), z.string().transform((v) => v.split(',').map((x) => x.trim()).filter(Boolean))]).default(['library']),
    /**
     * More namespaces no account may take (comma-separated in the environment), added to the built-in list (`mirror`,
     * `admin`, `api`, `v2`, …) and to baseNamespaces (which only an administrator may create).
     */
    reservedNamespaces: z.union([z.array(z.string()), z.string().transform((v) => v.split(',').map((x) => x.trim()).filter(Boolean))]).default([]),
    /** Largest stored build log, bytes; later output is replaced by a truncation mark. */
    logMaxBytes: z.coerce.number().int().min(1024).default(8 * 1024 * 1024),
    /** Largest webhook body accepted, bytes (larger requests get 413 and start nothing). */
    hookMaxBodyBytes: z.coerce.number().int().min(1024).max(25 * 1024 * 1024).default(1024 * 1024),
    /** How often the poller looks for services whose pollIntervalSeconds has passed, seconds. */
    pollTickSeconds: z.coerce.number().min(0.1).max(3600).default(10),
    /** Attempts per notification before it is marked failed. */
    notificationMaxAttempts: z.coerce.number().int().min(1).max(50).default(8),
    /** Delay before a notification's second attempt, seconds; each later retry waits twice as long. */
    notificationBackoffSeconds: z.coerce.number().min(0.01).max(3600).default(10),
    /** Longest wait between notification attempts, seconds. */
    notificationBackoffMaxSeconds: z.coerce.number().min(0.01).max(86400).default(3600),
    /** A notification receiver that does not answer within this is a failed attempt, seconds. */
    notificationTimeoutSeconds: z.coerce.number().min(0.1).max(300).default(10),
    /** A lifecycle pass (retention policies, then garbage collection) runs every this many minutes; 0 = only on demand. */
    gcIntervalMinutes: z.coerce.number().min(0).default(24 * 60),
    /** Blobs written, linked or announced by a push more recently than this are never collected, seconds (keep it above a few minutes). */
    gcMinBlobAgeSeconds: z.coerce.number().min(1).default(6 * 3600),
    /** Blobs per garbage-collection sweep transaction (each holds the database's write lock for a few milliseconds). */
    gcBatchSize: z.coerce.number().int().min(1).max(10_000).default(64),
    /**
     * Metadata database: a `postgres://user:password@host:port/database` URL selects PostgreSQL (several nodes share
     * it); unset = SQLite in dataDir.
     */
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'use a postgres://user:password@host:port/database URL, or leave it unset for SQLite in dataDir')
      .optional(),
    /** S3-compatible bucket for blobs and build logs (several nodes share it); unset = the filesystem under dataDir. */
    s3Bucket: z.string().min(3).max(63).optional(),
    /** Endpoint of an S3-compatible server (MinIO, Ceph, …), e.g. http://minio:9000; unset = AWS S3. */
    s3Endpoint: z.string().url().optional(),
    /** Region of the bucket. */
    s3Region: z.string().min(1).default('us-east-1'),
    /** Static credentials (both or neither; neither = the AWS SDK's default chain: AWS_* variables, instance roles). */
    s3AccessKeyId: z.string().min(1).optional(),
    s3SecretAccessKey: z.string().min(1).optional(),
    /** Address the bucket as <endpoint>/<bucket> (most S3-compatible servers need it; AWS does not). */
    s3ForcePathStyle: flag.default(false),
    /** Answer blob GETs with a 307 redirect to a presigned URL of the bucket (clients must reach the endpoint). */
    s3PresignRedirect: flag.default(false),
    /**
     * How live events reach clients connected to other nodes: auto (PostgreSQL LISTEN/NOTIFY with databaseUrl, else
     * this node only), local, postgres, or poll (several nodes on SQLite over a shared disk read the event log).
     */
    eventFanout: z.enum(['auto', 'local', 'postgres', 'poll']).default('auto'),
    /**
     * Serve GET /metrics on this separate address (host:port, e.g. 127.0.0.1:9100), without authentication; the main
     * port then no longer serves it. Unset: the main port serves /metrics to administrators only.
     */
    metricsHost: z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+):\d{1,5}$/, 'use host:port, e.g. 127.0.0.1:9100 or [::1]:9100').optional(),
    /**
     * Registries base images are fetched from through the pull-through cache (mirror/<registry>/…): registry name →
     * { url, username?, password?, insecure? }, or false to disable one; merged over the defaults (docker.io, ghcr.io,
     * quay.io, registry.k8s.io, public.ecr.aws, mcr.microsoft.com). Environment: BUILDGRID_UPSTREAMS holds the JSON.
     */
    upstreams: upstreamsSchema,
    /** A cached base-image tag is re-checked upstream (HEAD) when it was last checked longer ago than this, seconds. */
    upstreamTagTtlSeconds: z.coerce.number().int().min(0).default(300),
    /** pino log level. */
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const s3Keys = (['s3Endpoint', 's3AccessKeyId', 's3SecretAccessKey'] as const).filter((k) => c[k] !== undefined);
    if (!c.s3Bucket && (s3Keys.length > 0 || c.s3PresignRedirect)) {
      ctx.addIssue({ code: 'custom', path: ['s3Bucket'], message: `set s3Bucket to use S3 storage (${[...s3Keys, ...(c.s3PresignRedirect ? ['s3PresignRedirect'] : [])].join(', ')} given without it)` });
    }
    if (Boolean(c.s3AccessKeyId) !== Boolean(c.s3SecretAccessKey)) {
      ctx.addIssue({ code: 'custom', path: [c.s3AccessKeyId ? 's3SecretAccessKey' : 's3AccessKeyId'], message: 's3AccessKeyId and s3SecretAccessKey must be set together' });
    }
  });

/** The validated, frozen configuration. */
export type Config = Readonly<z.infer<typeof configSchema> & { publicUrl: string }>;
