import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError, isAppError } from '../core/errors.ts';
import { createLoginLimiter } from './ratelimit.ts';
import { manualClock } from './testing/fixture.ts';

function retryAfter(fn: () => void): number | null {
  try {
    fn();
    return null;
  } catch (e) {
    assert.ok(isAppError(e, 'TOOMANYREQUESTS'));
    assert.match((e as AppError).message, /try again in \d+ s/);
    return ((e as AppError).detail as { retryAfterSeconds: number }).retryAfterSeconds;
  }
}

test('more than N failures within a minute lock the source out; others are unaffected', () => {
  const clock = manualClock();
  const l = createLoginLimiter({ maxFailuresPerMinute: 3, now: clock.now });
  for (let i = 0; i < 3; i++) l.recordFailure('1.2.3.4');
  assert.equal(retryAfter(() => l.check('1.2.3.4')), null, 'N failures are tolerated');
  l.recordFailure('1.2.3.4');
  assert.equal(retryAfter(() => l.check('1.2.3.4')), 60);
  assert.equal(retryAfter(() => l.check('5.6.7.8')), null);
  clock.advance(59_000);
  assert.equal(retryAfter(() => l.check('1.2.3.4')), 1);
  clock.advance(1_000);
  assert.equal(retryAfter(() => l.check('1.2.3.4')), null);
});

test('the window slides: failures older than a minute no longer count', () => {
  const clock = manualClock();
  const l = createLoginLimiter({ maxFailuresPerMinute: 2, now: clock.now });
  l.recordFailure('s');
  l.recordFailure('s');
  clock.advance(60_001);
  l.recordFailure('s');
  assert.equal(retryAfter(() => l.check('s')), null);
  clock.advance(10_000);
  l.recordFailure('s');
  l.recordFailure('s');
  assert.ok(retryAfter(() => l.check('s'))! > 0);
});

test('repeated lockouts double the backoff up to 15 minutes, and a quiet period resets it', () => {
  const clock = manualClock();
  const l = createLoginLimiter({ maxFailuresPerMinute: 1, now: clock.now });
  const periods: number[] = [];
  for (let i = 0; i < 6; i++) {
    l.recordFailure('s');
    l.recordFailure('s');
    const p = retryAfter(() => l.check('s'))!;
    periods.push(p);
    clock.advance(p * 1000);
  }
  assert.deepEqual(periods, [60, 120, 240, 480, 900, 900]);
  clock.advance(15 * 60_000);
  l.recordFailure('s');
  l.recordFailure('s');
  assert.equal(retryAfter(() => l.check('s')), 60);
});

test('memory stays bounded; locked sources survive a flood of new ones', () => {
  const clock = manualClock();
  const l = createLoginLimiter({ maxFailuresPerMinute: 1, maxSources: 100, now: clock.now });
  l.recordFailure('attacker');
  l.recordFailure('attacker');
  for (let i = 0; i < 10_000; i++) {
    l.recordFailure(`10.0.${i >> 8}.${i & 255}`);
    if (i % 1000 === 0) clock.advance(1500);
  }
  assert.ok(l.size <= 100, `tracking ${l.size} sources`);
  assert.ok(retryAfter(() => l.check('attacker'))! > 0);
  clock.advance(20 * 60_000);
  l.recordFailure('late');
  assert.ok(l.size <= 2, 'idle sources are swept once the window has passed');
});
