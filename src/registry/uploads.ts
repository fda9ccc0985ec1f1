import { createHmac } from 'node:crypto';
import { AppError } from '../core/errors.ts';
import { parseDigest, type Digest } from '../core/digest.ts';
import { isRepositoryName } from '../core/reference.ts';
import { safeEqual } from '../core/ids.ts';
import { sendEmpty, type Handler, type RequestContext } from './context.ts';
import { allowedActions } from './gate.ts';

/*
 * Upload sessions. The id in the Location URL is `<storage session id>.<mac>`, where mac binds the session to the
 * repository name, so a session started in one repository cannot be continued through another, and no server node
 * needs in-memory state to check it.
 */
function sign(ctx: RequestContext, sessionId: string): string {
  const mac = createHmac('sha256', ctx.deps.uploadKey).update(`${ctx.name}\n${sessionId}`).digest('base64url').slice(0, 22);
  return `${sessionId}.${mac}`;
}

function sessionOf(ctx: RequestContext): string {
  const [sessionId, mac] = ctx.ref.split('.');
  if (!sessionId || !mac || !safeEqual(sign(ctx, sessionId), ctx.ref)) {
    throw new AppError('BLOB_UPLOAD_UNKNOWN', `upload ${ctx.ref.slice(0, 64)} not found in ${ctx.name}; start a new upload`);
  }
  return sessionId;
}

function uploadHeaders(ctx: RequestContext, id: string, size: number): Record<string, string> {
  return {
    Location: `/v2/${ctx.name}/blobs/uploads/${id}`,
    Range: `0-${Math.max(0, size - 1)}`,
    'Docker-Upload-UUID': id,
  };
}

async function repoFor(ctx: RequestContext) {
  return ctx.repo ?? (await ctx.deps.metadata.repositories.ensure(ctx.name));
}

async function finish(ctx: RequestContext, sessionId: string, digestParam: string | null): Promise<number> {
  if (!digestParam) throw new AppError('DIGEST_INVALID', 'the final PUT of an upload needs ?digest=<digest>');
  const digest = parseDigest(digestParam);
  // Intent before effect (lifecycle/gc.ts): touched before the commit looks for an existing copy of the blob.
  await ctx.deps.metadata.lifecycle.gc.touch([digest]);
  const { digest: d } = await ctx.deps.ingest.commit(sessionId, digest);
  const repo = await repoFor(ctx);
  await ctx.deps.metadata.repositories.linkBlob(repo.id, d);
  await verifyLinked(ctx, repo.id, d);
  return sendEmpty(ctx.res, 201, { Location: `/v2/${ctx.name}/blobs/${d}`, 'Docker-Content-Digest': d });
}

/**
 * After linking: the file must still be there. A garbage-collection sweep cannot remove a linked blob, so if it is
 * missing now, a sweep took it between this request's touch and its link (possible only when the collection fence,
 * gcMinBlobAgeSeconds, is shorter than this request took; see lifecycle/gc.ts). Then the link is taken back and the
 * client told to upload again, so a link never points at nothing.
 */
async function verifyLinked(ctx: RequestContext, repoId: string, digest: Digest): Promise<void> {
  if ((await ctx.deps.blobs.stat(digest)) !== null) return;
  await ctx.deps.metadata.repositories.unlinkBlob(repoId, digest);
  throw new AppError('BLOB_UPLOAD_INVALID', `blob ${digest} was removed by garbage collection while it was being stored; upload it again`);
}

function contentLengthZero(ctx: RequestContext): boolean {
  const cl = ctx.req.headers['content-length'];
  return cl === '0' || (cl === undefined && !ctx.req.headers['transfer-encoding']);
}

/** POST /v2/<name>/blobs/uploads/: cross-repository mount, monolithic upload (?digest=), or a new session (202). */
export const startUpload: Handler = async (ctx) => {
  const mount = ctx.query.get('mount');
  const from = ctx.query.get('from');
  if (mount) {
    const digest = parseDigest(mount);
    if (from && isRepositoryName(from) && (await allowedActions(ctx.caller, from, ctx.deps)).has('pull')) {
      await ctx.deps.metadata.lifecycle.gc.touch([digest]); // before the source link is trusted (lifecycle/gc.ts)
      const source = await ctx.deps.metadata.repositories.get(from);
      if (source && (await ctx.deps.metadata.repositories.hasBlob(source.id, digest))) {
        const repo = await repoFor(ctx);
        await ctx.deps.metadata.repositories.linkBlob(repo.id, digest);
        await verifyLinked(ctx, repo.id, digest);
        return sendEmpty(ctx.res, 201, { Location: `/v2/${ctx.name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
      }
    }
    // Mount not possible: fall back to a normal upload session, as the spec says.
  }
  const sessionId = await ctx.deps.ingest.startUpload();
  const digestParam = ctx.query.get('digest');
  if (digestParam !== null) {
    try {
      await ctx.deps.ingest.append(sessionId, ctx.req);
      return await finish(ctx, sessionId, digestParam);
    } catch (err) {
      await ctx.deps.ingest.cancel(sessionId);
      throw err;
    }
  }
  return sendEmpty(ctx.res, 202, uploadHeaders(ctx, sign(ctx, sessionId), 0));
};

function parseContentRange(h: string | undefined): number | undefined {
  if (h === undefined) return undefined;
  const m = /^(?:bytes )?(\d+)-(\d+)$/.exec(h.trim());
  if (!m) throw new AppError('RANGE_INVALID', `malformed Content-Range "${h.slice(0, 40)}": expected <start>-<end>`);
  return Number(m[1]);
}

/** PATCH /v2/<name>/blobs/uploads/<id>: appends a chunk (Content-Range must continue where the session ends). */
export const patchUpload: Handler = async (ctx) => {
  const sessionId = sessionOf(ctx);
  const offset = parseContentRange(ctx.req.headers['content-range']);
  const size = await ctx.deps.ingest.append(sessionId, ctx.req, { offset });
  return sendEmpty(ctx.res, 202, uploadHeaders(ctx, ctx.ref, size));
};

/** PUT /v2/<name>/blobs/uploads/<id>?digest=: appends any final chunk, verifies, commits and links the blob. */
export const putUpload: Handler = async (ctx) => {
  const sessionId = sessionOf(ctx);
  const digestParam = ctx.query.get('digest');
  if (!digestParam) throw new AppError('DIGEST_INVALID', 'the final PUT of an upload needs ?digest=<digest>');
  parseDigest(digestParam);
  if (!contentLengthZero(ctx)) {
    const offset = parseContentRange(ctx.req.headers['content-range']);
    await ctx.deps.ingest.append(sessionId, ctx.req, { offset });
  } else {
    await ctx.deps.ingest.uploadSize(sessionId);
  }
  return finish(ctx, sessionId, digestParam);
};

/** GET /v2/<name>/blobs/uploads/<id>: the session's progress (204 with Range). */
export const getUpload: Handler = async (ctx) => {
  const sessionId = sessionOf(ctx);
  const size = await ctx.deps.ingest.uploadSize(sessionId);
  return sendEmpty(ctx.res, 204, uploadHeaders(ctx, ctx.ref, size));
};

/** DELETE /v2/<name>/blobs/uploads/<id>: cancels the session. */
export const cancelUpload: Handler = async (ctx) => {
  const sessionId = sessionOf(ctx);
  await ctx.deps.ingest.uploadSize(sessionId);
  await ctx.deps.ingest.cancel(sessionId);
  return sendEmpty(ctx.res, 204);
};
