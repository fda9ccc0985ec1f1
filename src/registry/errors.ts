import type { ServerResponse } from 'node:http';
import { AppError, type ErrorCode } from '../core/errors.ts';

/**
 * The one table that turns domain error codes into OCI distribution error responses (status + JSON `code`).
 * Every /v2 failure goes through `sendRegistryError`; handlers only throw AppError.
 */
const TABLE: Record<ErrorCode, { status: number; code: string }> = {
  BLOB_UNKNOWN: { status: 404, code: 'BLOB_UNKNOWN' },
  BLOB_UPLOAD_INVALID: { status: 400, code: 'BLOB_UPLOAD_INVALID' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, code: 'BLOB_UPLOAD_UNKNOWN' },
  DIGEST_INVALID: { status: 400, code: 'DIGEST_INVALID' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, code: 'MANIFEST_BLOB_UNKNOWN' },
  MANIFEST_INVALID: { status: 400, code: 'MANIFEST_INVALID' },
  MANIFEST_UNKNOWN: { status: 404, code: 'MANIFEST_UNKNOWN' },
  NAME_INVALID: { status: 400, code: 'NAME_INVALID' },
  NAME_UNKNOWN: { status: 404, code: 'NAME_UNKNOWN' },
  SIZE_INVALID: { status: 400, code: 'SIZE_INVALID' },
  TAG_INVALID: { status: 400, code: 'MANIFEST_INVALID' },
  RANGE_INVALID: { status: 416, code: 'RANGE_INVALID' },
  UNAUTHORIZED: { status: 401, code: 'UNAUTHORIZED' },
  DENIED: { status: 403, code: 'DENIED' },
  UNSUPPORTED: { status: 405, code: 'UNSUPPORTED' },
  TOOMANYREQUESTS: { status: 429, code: 'TOOMANYREQUESTS' },
  NOT_FOUND: { status: 404, code: 'NAME_UNKNOWN' },
  INVALID: { status: 400, code: 'UNSUPPORTED' },
  CONFLICT: { status: 409, code: 'DENIED' },
  INTERNAL: { status: 500, code: 'UNKNOWN' },
};

/** Status for a domain error on the /v2 API. */
export function registryStatus(err: AppError): number {
  return TABLE[err.code].status;
}

/**
 * Writes an OCI error response. Unknown (non-AppError) errors become 500 UNKNOWN without internals; the caller logs them.
 * `headers` adds e.g. WWW-Authenticate or Content-Range.
 */
export function sendRegistryError(res: ServerResponse, err: unknown, headers: Record<string, string> = {}): number {
  const e = err instanceof AppError ? err : new AppError('INTERNAL', 'internal error; see the server log');
  const { status, code } = TABLE[e.code];
  const body = JSON.stringify({ errors: [{ code, message: e.message, detail: e.detail ?? null }] });
  if (res.headersSent) {
    res.destroy();
    return status;
  }
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Docker-Distribution-API-Version': 'registry/2.0',
    ...headers,
  });
  res.end(body);
  return status;
}

/** The message every refused write carries: the registry is read-only for people. */
export const READ_ONLY_MESSAGE =
  'BuildGrid\'s registry is read-only: images are built from git commits, not pushed. ' +
  'Push your code to the service\'s git repository (or run `buildgrid deploy APP`) and BuildGrid builds the image.';
