import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import Fastify from 'fastify';
import { createRegistryHandler, type RegistryOptions } from '../../src/registry/server.ts';
import { installApiErrors } from '../../src/api/errors.ts';
import { authFixture } from '../../src/auth/testing/fixture.ts';
import { grantedAccess, parseScope, type AccessEntry, type Principal } from '../../src/auth/index.ts';
import { basic } from '../support/world.ts';

// Retry-After says how long the lockout really has left (it used to say 60 whatever the backoff). The registry's
// handler runs over a real socket with the real authenticator on a clock the test moves.
async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

test('the registry\'s Retry-After is the lockout\'s remaining time', async () => {
  const f = authFixture({ maxFailuresPerMinute: 1 });
  const handler = createRegistryHandler({
    authenticator: f.authenticator, rules: f.access, realm: 'http://127.0.0.1/v2/token', service: '127.0.0.1',
    grant: (p: Principal, requested: AccessEntry[]) => grantedAccess(f.access, p, requested), parseScope,
  } as unknown as RegistryOptions);
  const server = createServer(handler);
  const url = await listen(server);
  try {
    const attempt = () => fetch(`${url}/v2/`, { headers: { authorization: basic('someone', 'bgr_wrong') } });
    assert.equal((await attempt()).status, 401);
    assert.equal((await attempt()).status, 401);
    f.clock.advance(25_000);
    const r = await attempt();
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '35');
    // The second lockout in a streak lasts two minutes.
    f.clock.advance(35_000);
    await attempt();
    await attempt();
    f.clock.advance(1000);
    assert.equal((await attempt()).headers.get('retry-after'), '119');
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('the API\'s Retry-After is the lockout\'s remaining time', async () => {
  const f = authFixture({ maxFailuresPerMinute: 1 });
  await f.people.createUser({ email: 'jane@example.com', password: 'password1' });
  const app = Fastify();
  installApiErrors(app);
  app.post('/login', async (req) => {
    const body = req.body as { email: string; password: string };
    return { token: (await f.people.login(body.email, body.password, req.ip)).token };
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const attempt = () => fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'jane@example.com', password: 'wrong-one' }) });
    await attempt();
    await attempt();
    f.clock.advance(48_000);
    const r = await attempt();
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '12');
  } finally {
    await app.close();
  }
});
