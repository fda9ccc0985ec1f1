import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createJobTokens } from './job-tokens.ts';

test('job tokens round-trip, and forged, foreign or expired tokens are refused', () => {
  let now = 1_000_000;
  const key = randomBytes(32);
  const jt = createJobTokens({ secretKey: key, now: () => now });
  const t = jt.issue({ buildId: 'b1', repository: 'acme/app.web', pullNamespaces: ['acme', 'library'], ttlSeconds: 60 });
  assert.ok(t.startsWith('bgj_'));
  assert.deepEqual(jt.verify(t), { kind: 'job', id: 'b1', repository: 'acme/app.web', pullNamespaces: ['acme', 'library'] });
  const [payload, mac] = t.slice(4).split('.');
  const forgedPayload = Buffer.from(JSON.stringify({ b: 'b1', r: 'globex/x', n: [], e: 9e9 })).toString('base64url');
  assert.equal(jt.verify(`bgj_${forgedPayload}.${mac}`), null);
  assert.equal(jt.verify(`bgj_${payload}.x${mac!.slice(1)}`), null);
  assert.equal(createJobTokens({ secretKey: randomBytes(32), now: () => now }).verify(t), null);
  assert.equal(jt.verify('bgj_garbage'), null);
  assert.equal(jt.verify('not-a-job-token'), null);
  now += 61_000;
  assert.equal(jt.verify(t), null);
  assert.throws(() => jt.issue({ buildId: 'b', repository: 'Bad Name', pullNamespaces: [], ttlSeconds: 1 }));
});
