import { randomBytes } from 'node:crypto';
import { createAccessRules } from '../access.ts';
import { createAuthCache } from '../cache.ts';
import { createJobTokens } from '../job-tokens.ts';
import { createPeople } from '../people.ts';
import { createLoginLimiter } from '../ratelimit.ts';
import { createRegistryAuthenticator } from '../registry-auth.ts';
import { createFakeMetadata } from './fake-metadata.ts';

/** A manual clock for tests: `now()` in ms, `advance(ms)`. */
export function manualClock(start = Date.parse('2025-01-01T00:00:00Z')) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

/** The auth services wired as the composition root will wire them, over the fake store and a manual clock. */
export function authFixture(opts: { maxFailuresPerMinute?: number } = {}) {
  const clock = manualClock();
  const metadata = createFakeMetadata({ now: clock.now });
  const cache = createAuthCache();
  const limiter = createLoginLimiter({ maxFailuresPerMinute: opts.maxFailuresPerMinute ?? 10, now: clock.now });
  const secretKey = randomBytes(32);
  const people = createPeople({ metadata, secretKey, cache, limiter, now: clock.now });
  const jobTokens = createJobTokens({ secretKey, now: clock.now });
  const authenticator = createRegistryAuthenticator({ metadata, limiter, cache, jobTokens, now: clock.now });
  const access = createAccessRules({ metadata, cache, now: clock.now });
  return { clock, metadata, cache, limiter, people, jobTokens, authenticator, access };
}
