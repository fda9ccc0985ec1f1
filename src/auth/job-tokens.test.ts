import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { createJobTokens } from './job-tokens.ts';

/** `mac` with the lowest bit of its first character's 6-bit value flipped: always a different, well-formed MAC. */
function flipBit(mac: string): string {
  const bytes = Buffer.from(mac, 'base64url');
  bytes[0]! ^= 0x04; // the first base64url character carries the top six bits of the first byte
  const flipped = bytes.toString('base64url');
  assert.notEqual(flipped, mac);
  return flipped;
}

test('job tokens round-trip, and forged, foreign or expired tokens are refused', () => {
  let now = 1_000_000;
  const key = randomBytes(32);
  const jt = createJobTokens({ secretKey: key, now: () => now });
  const input = { buildId: 'b1', attempt: 2, repository: 'acme/app.web', pullNamespaces: ['acme', 'library'], tag: 'a'.repeat(40), ttlSeconds: 60 };
  const t = jt.issue(input);
  assert.ok(t.startsWith('bgj_'));
  assert.deepEqual(jt.verify(t), {
    kind: 'job', buildId: 'b1', attempt: 2, repository: 'acme/app.web', pullNamespaces: ['acme', 'library'], tag: 'a'.repeat(40),
  });
  assert.equal(jt.verify(jt.issue({ ...input, tag: null }))?.tag, null, 'a token without a tag (commit not known yet)');
  const [payload, mac] = t.slice(4).split('.');
  const forgedPayload = Buffer.from(JSON.stringify({ b: 'b1', a: 2, r: 'globex/x', n: [], t: 'latest', e: 9e9 })).toString('base64url');
  assert.equal(jt.verify(`bgj_${forgedPayload}.${mac}`), null);
  for (let i = 0; i < 64; i++) {
    // Any MAC, whatever its first character: a flipped bit is always refused.
    const other = jt.issue({ ...input, buildId: `b${i}` });
    const [p, m] = other.slice(4).split('.');
    assert.equal(jt.verify(`bgj_${p}.${flipBit(m!)}`), null);
  }
  assert.equal(jt.verify(`bgj_${payload}.${mac}.extra`), null);
  assert.equal(createJobTokens({ secretKey: randomBytes(32), now: () => now }).verify(t), null);
  assert.equal(jt.verify('bgj_garbage'), null);
  assert.equal(jt.verify('not-a-job-token'), null);
  now += 61_000;
  assert.equal(jt.verify(t), null);
  assert.throws(() => jt.issue({ ...input, repository: 'Bad Name' }));
});

test('a token of the older format (no claim, no tag) is refused', () => {
  const key = randomBytes(32);
  const jt = createJobTokens({ secretKey: key });
  const macKey = createHmac('sha256', key).update('buildgrid job tokens v1').digest();
  const old = Buffer.from(JSON.stringify({ b: 'b1', r: 'acme/app.web', n: [], e: Math.floor(Date.now() / 1000) + 60 })).toString('base64url');
  assert.equal(jt.verify(`bgj_${old}.${createHmac('sha256', macKey).update(old).digest('base64url')}`), null);
});
