import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, verifyPassword } from './passwords.ts';

test('a hashed password verifies, a wrong one does not', async () => {
  const h = await hashPassword('correct horse battery');
  assert.match(h, /^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
  assert.equal(await verifyPassword('correct horse battery', h), true);
  assert.equal(await verifyPassword('correct horse batterY', h), false);
  assert.equal(await verifyPassword('', h), false);
});

test('the same password hashes differently each time (random salt)', async () => {
  const [a, b] = await Promise.all([hashPassword('same-password'), hashPassword('same-password')]);
  assert.notEqual(a, b);
  assert.equal(await verifyPassword('same-password', b), true);
});

test('malformed or hostile encodings resolve to false instead of throwing', async () => {
  for (const bad of ['', 'plain', 'scrypt$16384$8$1$salt', 'bcrypt$16384$8$1$c2FsdA$aGFzaA', 'scrypt$1000$8$1$c2FsdHNhbHQ$' + 'A'.repeat(43),
    'scrypt$4294967296$8$1$c2FsdHNhbHQ$' + 'A'.repeat(43), 'scrypt$16384$8$1$$' + 'A'.repeat(43), 'scrypt$16384$8$1$c2FsdA$short']) {
    assert.equal(await verifyPassword('x', bad), false, bad);
  }
});
