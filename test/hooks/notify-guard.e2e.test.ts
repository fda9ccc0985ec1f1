import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { apiCall } from '../support/world.ts';
import { startReceiver, type Receiver } from './receivers.ts';
import { makeShopWorld, pushImage, type Pushed, type ShopWorld } from '../lifecycle/support.ts';

// Notifications to private destinations through the API of a real server: a developer points an endpoint at the
// server's loopback. With the default configuration the address is refused when added, a name that resolves to it is
// refused when sending (the reason is on the delivery), and nothing reaches the receiver. A server whose operator
// allows 127.0.0.0/8 delivers, and the delivery log shows the answer's status and headers, never its body.

const REFUSED = /destination (?:localhost \()?127\.0\.0\.1\)? is a private address \(loopback\); an administrator can allow it with allowPrivateNetworks/;
let rx: Receiver;
before(async () => { rx = await startReceiver(() => 200); });
after(async () => { await rx.close(); });

async function world(overrides: Record<string, unknown>): Promise<{ x: ShopWorld; built: Pushed; token: string }> {
  const x = await makeShopWorld({ notificationMaxAttempts: 1, notificationTimeoutSeconds: 5, ...overrides });
  return { x, built: await pushImage(x, 'web', { branch: 'main' }), token: x.w.acmeOwner.token };
}

async function delivered(x: ShopWorld, token: string): Promise<any> {
  for (let i = 0; i < 400; i++) {
    const [d] = (await apiCall(x.s, token, 'GET', '/accounts/acme/notifications/deliveries')).body;
    if (d && d.status !== 'pending') return d;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no delivery finished');
}

test('by default an account cannot make the server call its loopback', async () => {
  const { x, built, token } = await world({});
  try {
    const literal = await apiCall(x.s, token, 'POST', '/accounts/acme/notifications', { url: rx.url, events: ['build.queued'] });
    assert.equal(literal.status, 400, JSON.stringify(literal.body));
    assert.match(literal.body.error.message, REFUSED);
    const named = await apiCall(x.s, token, 'POST', '/accounts/acme/notifications', { url: rx.url.replace('127.0.0.1', 'localhost'), events: ['build.queued'] });
    assert.equal(named.status, 201, JSON.stringify(named.body));
    rx.secret = named.body.secret;
    assert.equal((await apiCall(x.s, token, 'POST', `/builds/${built.buildId}/rebuild`)).status, 202);
    const d = await delivered(x, token);
    assert.equal(d.status, 'failed');
    assert.equal(d.attempts[0].statusCode, null);
    assert.match(d.attempts[0].error, REFUSED);
    assert.equal(rx.got.length, 0, 'nothing reached the receiver');
  } finally {
    await x.stop();
  }
});

test('allowPrivateNetworks ["127.0.0.0/8"] lets it through; the log keeps status and headers, not the body', async () => {
  const { x, built, token } = await world({ allowPrivateNetworks: ['127.0.0.0/8'] });
  try {
    const added = await apiCall(x.s, token, 'POST', '/accounts/acme/notifications', { url: rx.url, events: ['build.queued'] });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    rx.secret = added.body.secret;
    assert.equal((await apiCall(x.s, token, 'POST', `/builds/${built.buildId}/rebuild`)).status, 202);
    const d = await delivered(x, token);
    assert.equal(d.status, 'succeeded', JSON.stringify(d));
    assert.equal(d.attempts[0].statusCode, 200);
    assert.equal(d.attempts[0].headers['content-type'], 'application/json');
    assert.equal('response' in d.attempts[0], false);
    assert.ok(!JSON.stringify(d.attempts).includes('"ok"'), 'the body the receiver answered ({"ok":true}) is not in the log');
    assert.equal(rx.got.length, 1);
  } finally {
    await x.stop();
  }
});
