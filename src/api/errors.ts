import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, type ErrorCode } from '../core/errors.ts';
import { retryAfterHeader } from '../auth/index.ts';

/**
 * The REST API's one error table: domain codes → HTTP status. Bodies are `{ error: { code, message } }` where code is
 * the lower-case domain code, stable for clients (the CLI and the dashboard branch on it).
 */
const STATUS: Record<ErrorCode, number> = {
  BLOB_UNKNOWN: 404, BLOB_UPLOAD_INVALID: 400, BLOB_UPLOAD_UNKNOWN: 404, DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400, MANIFEST_INVALID: 400, MANIFEST_UNKNOWN: 404, NAME_INVALID: 400, NAME_UNKNOWN: 404,
  SIZE_INVALID: 400, TAG_INVALID: 400, RANGE_INVALID: 416, UNAUTHORIZED: 401, DENIED: 403, UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429, NOT_FOUND: 404, INVALID: 400, CONFLICT: 409, INTERNAL: 500,
};

/** Installs the error handler and not-found handler on the API scope. */
export function installApiErrors(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | AppError, req, reply) => {
    if (err instanceof AppError) {
      if (err.code === 'INTERNAL') req.log.error({ err }, 'internal error');
      if (err.code === 'TOOMANYREQUESTS') void reply.header('Retry-After', retryAfterHeader(err));
      return reply.status(STATUS[err.code]).send({ error: { code: err.code.toLowerCase(), message: err.message } });
    }
    const fe = err as FastifyError & { validation?: Array<{ instancePath?: string; message?: string }> };
    if (fe.validation || fe.code === 'FST_ERR_VALIDATION') {
      const first = fe.validation?.[0];
      const where = first?.instancePath ? first.instancePath.replace(/^\//, '').replace(/\//g, '.') : 'request';
      return reply.status(400).send({ error: { code: 'invalid', message: `invalid ${where}: ${first?.message ?? fe.message}` } });
    }
    if (fe.statusCode && fe.statusCode < 500) {
      return reply.status(fe.statusCode).send({ error: { code: 'invalid', message: fe.message } });
    }
    req.log.error({ err }, 'unhandled error');
    return reply.status(500).send({ error: { code: 'internal', message: 'internal error; see the server log' } });
  });
}
