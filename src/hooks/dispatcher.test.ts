import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { backoffDelay } from './dispatcher.ts';
import { verifySignature } from './signature.ts';
import { buildEvent, receiver, rig as openRig, until, type Rig, type RigOptions } from './testing/notify-rig.ts';

// The notification sender against real loopback receivers and a real SQLite store (reopened to prove a restart resumes).
// The receivers are on loopback, which the sender refuses by default: these rigs allow 127.0.0.0/8 explicitly
// (dispatcher.guard.test.ts checks the refusal).
const dir = mkdtempSync(join(tmpdir(), 'bg-notify-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const key = randomBytes(32);
const LOOPBACK = ['127.0.0.0/8'];
const rig = (path: string, opts: RigOptions = {}, existing?: Parameters<typeof openRig>[3]): Promise<Rig> =>
  openRig(path, key, { allowPrivateNetworks: LOOPBACK, ...opts }, existing);

test('backoff doubles up to the cap', () => {
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoffDelay(n, 100, 1000)), [100, 200, 400, 800, 1000]);
});

test('each subscribed endpoint gets the event, signed with its own secret', async () => {
  const r = await rig(join(dir, 'a.db'));
  const rx = await receiver(() => 204);
  try {
    const a = await r.n.add(r.account, { url: rx.url, events: ['build.succeeded'] }, 'al@example.com');
    const b = await r.n.add(r.account, { url: rx.url, secret: 'a-secret-of-my-own-choosing' }, 'al@example.com');
    await buildEvent(r, 'build.queued');
    await buildEvent(r, 'build.succeeded');
    await until('three notifications', async () => rx.got.length === 3);
    for (const got of rx.got) {
      const delivery = String(got.headers['x-buildgrid-delivery']);
      const d = (await r.m.notifications.getDelivery(delivery))!;
      const secret = d.endpointId === a.endpoint.id ? a.secret : b.secret;
      assert.ok(verifySignature(secret, Buffer.from(got.body), String(got.headers['x-buildgrid-signature-256'])), 'signature verifies');
      const body = JSON.parse(got.body);
      assert.equal(got.headers['x-buildgrid-event'], body.event);
      assert.equal(got.headers['content-type'], 'application/json');
      assert.deepEqual(body.account, { id: r.account.id, namespace: 'acme', name: 'Acme' });
      assert.equal(body.application.slug, 'shop');
      assert.equal(body.build.id, 'b1');
      assert.equal(typeof body.eventId, 'number');
    }
    assert.equal(rx.got.filter((g) => JSON.parse(g.body).event === 'build.queued').length, 1, 'only the endpoint subscribed to build.queued gets it');
    assert.equal(b.secret, 'a-secret-of-my-own-choosing');
    assert.match(a.secret, /^bgn_/);
    const log = await r.n.deliveries(r.account, { endpointId: a.endpoint.id, limit: 10 });
    assert.equal(log.length, 1);
    assert.equal(log[0]!.status, 'succeeded');
    assert.equal(log[0]!.attempts[0]!.statusCode, 204);
  } finally {
    await r.d.stop();
    await rx.close();
    await r.m.close();
  }
});

test('a receiver failing twice gets retries and succeeds the third time; the log keeps each answer', async () => {
  const r = await rig(join(dir, 'b.db'));
  const rx = await receiver((n) => (n <= 2 ? 500 : 200));
  try {
    await r.n.add(r.account, { url: rx.url }, 'al@example.com');
    await buildEvent(r, 'build.succeeded');
    const [d] = await until('the delivery to succeed', async () => {
      const list = await r.n.deliveries(r.account, { limit: 10 });
      return list[0]?.status === 'succeeded' ? list : null;
    });
    assert.deepEqual(d!.attempts.map((a) => a.statusCode), [500, 500, 200]);
    assert.equal(d!.attempts[0]!.error, 'the receiver answered HTTP 500');
    assert.equal(d!.attempts[0]!.headers?.['content-type'], 'text/plain');
    assert.ok(!JSON.stringify(d).includes('thanks'), 'the body of the answer is not stored');
    assert.equal(rx.got.length, 3);
    assert.equal(new Set(rx.got.map((g) => g.headers['x-buildgrid-delivery'])).size, 1, 'retries keep the delivery id');
    assert.equal(new Set(rx.got.map((g) => g.body)).size, 1, 'retries send the same body');
  } finally {
    await r.d.stop();
    await rx.close();
    await r.m.close();
  }
});

test('attempts are used up, the delivery fails; redeliver sends the same payload under a new delivery id', async () => {
  const r = await rig(join(dir, 'c.db'), { maxAttempts: 2, backoffMs: 20 });
  let healthy = false;
  const rx = await receiver(() => (healthy ? 200 : 503));
  try {
    await r.n.add(r.account, { url: rx.url }, 'al@example.com');
    await buildEvent(r, 'build.succeeded');
    const failed = await until('the delivery to fail', async () => (await r.n.deliveries(r.account, { limit: 10 })).find((d) => d.status === 'failed'));
    assert.equal(failed.attemptCount, 2);
    assert.equal(failed.lastStatusCode, 503);
    healthy = true;
    const again = await r.n.redeliver(r.account, failed.id);
    assert.equal(again.redeliveryOf, failed.id);
    await until('the redelivery to succeed', async () => (await r.m.notifications.getDelivery(again.id))?.status === 'succeeded');
    const last = rx.got.at(-1)!;
    assert.equal(last.headers['x-buildgrid-delivery'], again.id);
    assert.equal(last.body, failed.payload);
    const other = await r.m.accounts.create({ name: 'Other', namespace: 'other' });
    await assert.rejects(r.n.redeliver(other, failed.id), /not found in other/);
  } finally {
    await r.d.stop();
    await rx.close();
    await r.m.close();
  }
});

test('pending retries survive a restart: a new process over the same store delivers them', async () => {
  const path = join(dir, 'd.db');
  // A port with nothing listening: the first attempt is refused.
  const probe = await receiver(() => 200);
  const port = probe.port;
  await probe.close();
  const first = await rig(path, { backoffMs: 400 });
  await first.n.add(first.account, { url: `http://127.0.0.1:${port}/hook` }, 'al@example.com');
  await buildEvent(first, 'build.succeeded');
  const pending = await until('a refused attempt', async () => (await first.n.deliveries(first.account, { limit: 1 })).find((d) => d.attemptCount === 1));
  assert.equal(pending.status, 'pending');
  assert.equal(pending.attempts[0]!.statusCode, null);
  assert.match(pending.attempts[0]!.error!, /ECONNREFUSED/);
  await first.d.stop();
  await first.m.close();

  const rx = await receiver(() => 200, port);
  const second = await rig(path, {}, { account: first.account, app: first.app });
  try {
    const done = await until('the retry after restart', async () => {
      const d = await second.m.notifications.getDelivery(pending.id);
      return d?.status === 'succeeded' ? d : null;
    });
    assert.equal(done.attemptCount, 2);
    assert.equal(rx.got.length, 1);
  } finally {
    await second.d.stop();
    await rx.close();
    await second.m.close();
  }
});

test('endpoint validation', async () => {
  const r = await rig(join(dir, 'e.db'));
  try {
    await assert.rejects(r.n.add(r.account, { url: 'ftp://x/y' }, 'a'), /http:\/\/ or https:\/\//);
    await assert.rejects(r.n.add(r.account, { url: 'not a url' }, 'a'), /not a URL/);
    await assert.rejects(r.n.add(r.account, { url: 'http://x', events: ['build.exploded'] }, 'a'), /unknown event "build.exploded"/);
    await assert.rejects(r.n.add(r.account, { url: 'http://x', secret: 'short' }, 'a'), /16 to 256/);
    const { endpoint } = await r.n.add(r.account, { url: 'http://127.0.0.1:1/x' }, 'a');
    assert.equal(endpoint.events.length, 6);
    await r.n.remove(r.account, endpoint.id);
    assert.deepEqual(await r.n.list(r.account), []);
    await assert.rejects(r.n.remove(r.account, endpoint.id), /not found/);
  } finally {
    await r.d.stop();
    await r.m.close();
  }
});
