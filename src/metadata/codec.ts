import { AppError } from '../core/errors.ts';

/** The current time as stored: `Date#toISOString()` (UTC, millisecond, fixed width, so it sorts lexically). */
export function nowIso(): string {
  return new Date().toISOString();
}

/**
 * Normalises a caller's ISO-8601 timestamp (any offset, with or without milliseconds) to the stored form, so
 * `expires_at > :now` compares correctly as text. Throws AppError INVALID when it is not a date.
 */
export function toStoredTime(value: string | null, field: string): string | null {
  if (value === null) return null;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new AppError('INVALID', `${field} "${value.slice(0, 40)}" is not an ISO-8601 timestamp`);
  return new Date(ms).toISOString();
}

/** JSON text for a TEXT column, or NULL. */
export function toJson(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

/** Parses a JSON TEXT column written by toJson. */
export function fromJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

/** Clamps a page size: a non-integer or negative limit reads as 0 (an empty page). */
export function pageLimit(limit: number): number {
  return Number.isFinite(limit) && limit > 0 ? Math.floor(limit) : 0;
}

/** Splits rows into chunks so one multi-row INSERT stays under SQLite's bound-parameter limit. */
export function chunks<T>(items: readonly T[], size = 300): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
