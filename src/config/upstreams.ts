import { z } from 'zod';

/** One upstream registry the pull-through cache may fetch base images from. */
export interface UpstreamConfig {
  /** http(s)://host[:port] of its registry API (Docker Hub's is https://registry-1.docker.io). */
  url: string;
  username?: string;
  password?: string;
  /** Skip TLS certificate verification (an internal mirror with a self-signed certificate). */
  insecure?: boolean;
}

/** The registries known out of the box, by the name a FROM line uses. */
export const DEFAULT_UPSTREAMS: Readonly<Record<string, UpstreamConfig>> = Object.freeze({
  'docker.io': { url: 'https://registry-1.docker.io' },
  'ghcr.io': { url: 'https://ghcr.io' },
  'quay.io': { url: 'https://quay.io' },
  'registry.k8s.io': { url: 'https://registry.k8s.io' },
  'public.ecr.aws': { url: 'https://public.ecr.aws' },
  'mcr.microsoft.com': { url: 'https://mcr.microsoft.com' },
});

// A registry name as it starts an image reference and as one component of mirror/<name>/…: lower-case host name.
const NAME_RE = /^[a-z0-9]+(?:[.-][a-z0-9]+)*$/;

const entry = z
  .object({
    url: z.string().url().refine((u) => /^https?:\/\/[^/]+\/?$/.test(u), 'use http(s)://host[:port] without a path'),
    username: z.string().min(1).optional(),
    password: z.string().optional(),
    insecure: z.boolean().optional(),
  })
  .strict();

/**
 * `upstreams`: an object (or, from the environment, its JSON) from registry name to { url, username?, password?,
 * insecure? }, or false/null to disable that registry; merged over DEFAULT_UPSTREAMS. Resolves to the enabled ones.
 */
export const upstreamsSchema = z
  .union([z.string(), z.record(z.string(), z.unknown())])
  .optional()
  .transform((v, ctx): Record<string, UpstreamConfig> => {
    let given: unknown = v ?? {};
    if (typeof given === 'string') {
      try {
        given = JSON.parse(given);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'BUILDGRID_UPSTREAMS must hold JSON such as {"docker.io":{"url":"https://mirror.example"}}' });
        return z.NEVER;
      }
    }
    if (typeof given !== 'object' || given === null || Array.isArray(given)) {
      ctx.addIssue({ code: 'custom', message: 'use an object from registry name to {"url": …} (or false to disable one)' });
      return z.NEVER;
    }
    const out: Record<string, UpstreamConfig> = { ...DEFAULT_UPSTREAMS };
    for (const [name, value] of Object.entries(given)) {
      if (!NAME_RE.test(name) || name.length > 128) {
        ctx.addIssue({ code: 'custom', message: `"${name.slice(0, 80)}" is not a registry host name (lower case, such as docker.io or registry.example.com; no port)` });
        return z.NEVER;
      }
      if (value === false || value === null) {
        delete out[name];
        continue;
      }
      const r = entry.safeParse(value);
      if (!r.success) {
        const i = r.error.issues[0]!;
        ctx.addIssue({ code: 'custom', message: `${name}.${i.path.join('.') || '(value)'}: ${i.message}` });
        return z.NEVER;
      }
      out[name] = r.data;
    }
    return out;
  });
