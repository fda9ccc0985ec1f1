import assert from 'node:assert/strict';
import { isAppError, type ErrorCode } from '../core/errors.ts';
import type { Metadata } from './types.ts';

/** Opens a fresh, empty, migrated store; each test closes the store it opened. */
export type OpenStore = () => Promise<Metadata>;

/** Opens two separate stores (own connections) over one fresh, migrated database; each test closes both. */
export type OpenTwins = () => Promise<[Metadata, Metadata]>;

/** Runs `fn` against a fresh store and closes it afterwards, even when `fn` throws. */
export async function withStore(open: OpenStore, fn: (m: Metadata) => Promise<void>): Promise<void> {
  const m = await open();
  try {
    await fn(m);
  } finally {
    await m.close();
  }
}

/** Asserts that `p` rejects with an AppError of `code` whose message matches `message` (when given). */
export async function rejectsWith(p: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isAppError(err, code), `expected AppError ${code}, got ${String(err)}`);
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** A well-formed sha256 digest made from one repeated hex character (`digestOf('a')`). */
export function digestOf(c: string): `sha256:${string}` {
  return `sha256:${c.repeat(64)}`;
}
