/**
 * Domain errors. Code throws an AppError with one of these codes; each protocol (the /v2 registry, the REST API,
 * the CLI) translates codes to its own wire format in exactly one place (registry/errors.ts, api/errors.ts).
 */
export type ErrorCode =
  // OCI distribution codes (also used by the store and metadata layers)
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'TAG_INVALID'
  | 'RANGE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  // generic codes for the REST API and CLI
  | 'NOT_FOUND'
  | 'INVALID'
  | 'CONFLICT'
  | 'INTERNAL';

/** An expected failure with a stable code; `message` is for people and should say what to do next. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly detail: unknown;
  constructor(code: ErrorCode, message: string, detail?: unknown) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.detail = detail;
  }
}

/** True when `err` is an AppError (optionally with the given code). */
export function isAppError(err: unknown, code?: ErrorCode): err is AppError {
  return err instanceof AppError && (code === undefined || err.code === code);
}
