import { AppError, type ErrorCode } from '../core/errors.ts';

/** A constraint a failed write broke, read from either driver's error. */
export interface ConstraintViolation {
  kind: 'unique' | 'foreign_key';
  /** Text naming the constraint: `users.email` (SQLite message) or `users_email_unique` (PostgreSQL constraint). */
  target: string;
}

/**
 * Recognises constraint violations from better-sqlite3 (`SqliteError.code`, e.g. SQLITE_CONSTRAINT_UNIQUE) and
 * node-postgres (SQLSTATE 23505 unique_violation, 23503 foreign_key_violation). Returns null for anything else.
 */
export function constraintViolation(err: unknown): ConstraintViolation | null {
  if (typeof err !== 'object' || err === null) return null;
  const e = err as { code?: unknown; message?: unknown; constraint?: unknown; detail?: unknown };
  const target = [e.message, e.constraint, e.detail].filter((s) => typeof s === 'string').join(' ');
  switch (e.code) {
    case 'SQLITE_CONSTRAINT_UNIQUE':
    case 'SQLITE_CONSTRAINT_PRIMARYKEY':
    case '23505':
      return { kind: 'unique', target };
    case 'SQLITE_CONSTRAINT_FOREIGNKEY':
    case '23503':
      return { kind: 'foreign_key', target };
    default:
      return null;
  }
}

/** How a write's violations read to people: a CONFLICT message per unique target, one code+message for a missing parent. */
export interface ViolationMessages {
  /** Message for a unique violation, given the violated target (use it to tell two unique columns apart). */
  unique?: (target: string) => string;
  /** Error for a foreign-key violation (a referenced row is missing). */
  missing?: [ErrorCode, string];
}

/** Rethrows `err` as an AppError when it is a violation described in `messages`, else unchanged. Always throws. */
export function rethrowViolation(err: unknown, messages: ViolationMessages): never {
  const v = constraintViolation(err);
  if (v?.kind === 'unique' && messages.unique) throw new AppError('CONFLICT', messages.unique(v.target));
  if (v?.kind === 'foreign_key' && messages.missing) throw new AppError(messages.missing[0], messages.missing[1]);
  throw err;
}
