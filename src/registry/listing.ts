import type { ServerResponse } from 'node:http';
import { AppError } from '../core/errors.ts';
import { parseDigest } from '../core/digest.ts';
import { MediaType } from '../oci/mediatypes.ts';
import { pageParams, sendJson, type Handler, type RequestContext } from './context.ts';
import { challenge, mayListCatalog } from './gate.ts';

function page(ctx: RequestContext): { n: number; last?: string } {
  const p = pageParams(ctx.query);
  if (!p) throw new AppError('INVALID', 'query parameter n must be a non-negative integer');
  return p;
}

function link(path: string, n: number, last: string): string {
  return `<${path}?n=${n}&last=${encodeURIComponent(last)}>; rel="next"`;
}

function sendPage(res: ServerResponse, path: string, key: string, items: string[], n: number, extra: object = {}): number {
  const more = items.length > n;
  const shown = more ? items.slice(0, n) : items;
  const headers: Record<string, string> = {};
  if (more && shown.length > 0) headers.Link = link(path, n, shown[shown.length - 1]!);
  return sendJson(res, 200, { ...extra, [key]: shown }, headers);
}

/** GET /v2/<name>/tags/list?n=&last=: tags in lexical order with a Link header for the next page. */
export const listTags: Handler = async (ctx) => {
  if (!ctx.repo) throw new AppError('NAME_UNKNOWN', `repository ${ctx.name} not known to registry`);
  const { n, last } = page(ctx);
  const tags = n === 0 ? [] : await ctx.deps.metadata.tags.list(ctx.repo.id, { last, limit: n + 1 });
  return sendPage(ctx.res, `/v2/${ctx.name}/tags/list`, 'tags', tags, n, { name: ctx.name });
};

/** GET /v2/_catalog?n=&last=: only the repositories the caller may pull, paginated. */
export const listCatalog: Handler = async (ctx) => {
  if (!mayListCatalog(ctx.caller)) {
    throw Object.assign(new AppError('UNAUTHORIZED', 'this registry token does not grant the catalog: request one with scope registry:catalog:*'), {
      challenge: `${challenge(ctx.deps)},scope="registry:catalog:*",error="insufficient_scope"`,
    });
  }
  const { n, last } = page(ctx);
  if (n === 0) return sendJson(ctx.res, 200, { repositories: [] });
  const namespaces = await ctx.deps.rules.listableNamespaces(ctx.caller.principal);
  const out: string[] = [];
  let cursor = last;
  // Principals limited to some repositories (pull tokens, scoped bearer tokens) are filtered name by name.
  for (;;) {
    const batch = await ctx.deps.metadata.repositories.list({ last: cursor, limit: n + 1, namespaces });
    for (const name of batch) {
      if (ctx.caller.via === 'bearer' || ctx.caller.principal.kind !== 'user') {
        if (!(await pullable(ctx, name))) continue;
      }
      out.push(name);
      if (out.length > n) break;
    }
    if (out.length > n || batch.length < n + 1) break;
    cursor = batch[batch.length - 1];
  }
  return sendPage(ctx.res, '/v2/_catalog', 'repositories', out, n);
};

async function pullable(ctx: RequestContext, name: string): Promise<boolean> {
  // A catalog token carries registry:catalog:*, not per-repository grants: what its principal may pull now is listed
  // (the principal was rechecked against its credential, so a revoked pull token or a removed member lists nothing).
  return (await ctx.deps.rules.actionsFor(ctx.caller.principal, name)).has('pull');
}

/** GET /v2/<name>/referrers/<digest>?artifactType=: an OCI index of manifests whose subject is <digest>. */
export const listReferrers: Handler = async (ctx) => {
  const subject = parseDigest(ctx.ref);
  const artifactType = ctx.query.get('artifactType') ?? undefined;
  const records = ctx.repo ? await ctx.deps.metadata.manifests.referrers(ctx.repo.id, subject, artifactType) : [];
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: records.map((r) => ({
      mediaType: r.mediaType,
      digest: r.digest,
      size: r.size,
      ...(r.artifactType ? { artifactType: r.artifactType } : {}),
      ...(r.annotations ? { annotations: r.annotations } : {}),
    })),
  };
  const headers: Record<string, string> = { 'Content-Type': MediaType.ociIndex };
  if (artifactType) headers['OCI-Filters-Applied'] = 'artifactType';
  return sendJson(ctx.res, 200, index, headers);
};
