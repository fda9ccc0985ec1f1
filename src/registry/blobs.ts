import { AppError } from '../core/errors.ts';
import { parseDigest } from '../core/digest.ts';
import { sendEmpty, type Handler, type RequestContext } from './context.ts';
import { parseRange, sendRange } from './send.ts';
import { sendRegistryError } from './errors.ts';
import { allowedActions } from './gate.ts';

async function linkedDigest(ctx: RequestContext) {
  const digest = parseDigest(ctx.ref);
  // A blob is served only through a repository it belongs to, so a digest never leaks across tenants.
  if (!ctx.repo || !(await ctx.deps.metadata.repositories.hasBlob(ctx.repo.id, digest))) {
    throw new AppError('BLOB_UNKNOWN', `blob ${digest} not found in ${ctx.name}`, { digest });
  }
  return digest;
}

/**
 * GET/HEAD /v2/<name>/blobs/<digest>, with single byte-range support (206 / 416); GET answers 307 to a presigned URL
 * when the blob store offers them.
 */
export const getBlob: Handler = async (ctx) => {
  if (ctx.method === 'HEAD' && ctx.repo && (await allowedActions(ctx.caller, ctx.name, ctx.deps)).has('push')) {
    // A pusher asking whether the blob exists will skip its upload on 200: touch first, so garbage collection
    // keeps the blob until the manifest that needs it arrives (lifecycle/gc.ts). Pull-only callers write nothing.
    await ctx.deps.metadata.lifecycle.gc.touch([parseDigest(ctx.ref)]);
  }
  const digest = await linkedDigest(ctx);
  if (ctx.method === 'GET' && ctx.deps.blobs.presignedUrl) {
    // The store can serve clients itself (S3 with s3PresignRedirect): send them there. 307 keeps the method, and
    // clients resend their Range header to the new location. HEAD is still answered here (no bytes to offload).
    if ((await ctx.deps.blobs.stat(digest)) === null) throw new AppError('BLOB_UNKNOWN', `blob unknown: ${digest}`, { digest });
    return sendEmpty(ctx.res, 307, { Location: await ctx.deps.blobs.presignedUrl(digest), 'Docker-Content-Digest': digest });
  }
  const file = await ctx.deps.blobs.open(digest);
  let handedOff = false;
  try {
    const size = file.size;
    const range = parseRange(ctx.req.headers.range, size);
    if (range === 'invalid') {
      sendRegistryError(ctx.res, new AppError('RANGE_INVALID', `requested range not satisfiable for a blob of ${size} bytes`), {
        'Content-Range': `bytes */${size}`,
      });
      return 0;
    }
    const start = range ? range.start : 0;
    const end = range ? range.end : size - 1;
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/octet-stream',
      'Content-Length': end - start + 1,
      'Docker-Content-Digest': digest,
      'Accept-Ranges': 'bytes',
      ETag: `"${digest}"`,
      'Cache-Control': 'max-age=31536000',
      'Docker-Distribution-API-Version': 'registry/2.0',
    };
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    ctx.res.writeHead(range ? 206 : 200, headers);
    if (ctx.method === 'HEAD' || size === 0) {
      ctx.res.end();
      return 0;
    }
    handedOff = true;
    return await sendRange(ctx.res, file, start, end);
  } finally {
    if (!handedOff) await file.close();
  }
};

/** DELETE /v2/<name>/blobs/<digest> (delete access only): unlinks the blob from the repository; GC reclaims bytes. */
export const deleteBlob: Handler = async (ctx) => {
  const digest = await linkedDigest(ctx);
  await ctx.deps.metadata.repositories.unlinkBlob(ctx.repo!.id, digest);
  return sendEmpty(ctx.res, 202, { 'Docker-Content-Digest': digest });
};
