import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buildEvent, rawReceiver, receiver, rig, until } from './testing/notify-rig.ts';

// Hostile receivers: private destinations (by address and by name), an endless answer, a trickling answer and a
// redirect into a private network. Every receiver is on loopback; the rig refuses loopback unless a test allows it.
const dir = mkdtempSync(join(tmpdir(), 'bg-notify-guard-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const key = randomBytes(32);
const REFUSED = /destination (?:localhost \()?127\.0\.0\.1\)? is a private address \(loopback\); an administrator can allow it with allowPrivateNetworks/;

test('a notification to loopback is refused by default, with the reason on the delivery; the setting lets it through', async () => {
  const path = join(dir, 'refuse.db');
  const rx = await receiver(() => 204);
  const deny = await rig(path, key, { maxAttempts: 1 });
  try {
    // An address literal is refused when the endpoint is added …
    await assert.rejects(deny.n.add(deny.account, { url: rx.url }, 'al@example.com'), REFUSED);
    // … a name is resolved and refused when sending (it may resolve elsewhere by then).
    const { endpoint } = await deny.n.add(deny.account, { url: `http://localhost:${rx.port}/hook` }, 'al@example.com');
    await buildEvent(deny, 'build.succeeded');
    const failed = await until('the delivery to fail', async () => (await deny.n.deliveries(deny.account, { limit: 5 })).find((d) => d.status === 'failed'));
    assert.equal(failed.attempts.length, 1);
    assert.equal(failed.attempts[0]!.statusCode, null);
    assert.match(failed.attempts[0]!.error!, REFUSED);
    assert.match(failed.lastError!, REFUSED);
    assert.equal(rx.got.length, 0, 'nothing reached the receiver');
    await deny.n.remove(deny.account, endpoint.id);
  } finally {
    await deny.d.stop();
    await deny.m.close();
  }

  for (const allow of [true, ['127.0.0.0/8']] as const) {
    const seen: number = rx.got.length;
    const open = await rig(join(dir, `allow-${allow === true ? 'all' : 'list'}.db`), key, { allowPrivateNetworks: allow });
    try {
      await open.n.add(open.account, { url: rx.url }, 'al@example.com');
      await buildEvent(open, 'build.succeeded');
      const [d] = await until('the delivery to succeed', async () => {
        const list = await open.n.deliveries(open.account, { limit: 5 });
        return list[0]?.status === 'succeeded' ? list : null;
      });
      assert.equal(d!.attempts[0]!.statusCode, 204);
      assert.equal(rx.got.length, seen + 1);
    } finally {
      await open.d.stop();
      await open.m.close();
    }
  }

  // An endpoint added while allowed stays refused once the operator takes the setting away.
  const reopened = await rig(join(dir, 'allow-list.db'), key, { maxAttempts: 1 }, await (async () => {
    const m = await (await import('../metadata/sqlite.ts')).openSqlite({ path: join(dir, 'allow-list.db') });
    const account = (await m.accounts.getByNamespace('acme'))!;
    const app = (await m.applications.list(account.id))[0]!;
    await m.close();
    return { account, app };
  })());
  try {
    const before = rx.got.length;
    await buildEvent(reopened, 'build.succeeded');
    const failed = await until('the refused delivery', async () => (await reopened.n.deliveries(reopened.account, { limit: 5 })).find((d) => d.status === 'failed'));
    assert.match(failed.attempts[0]!.error!, REFUSED);
    assert.equal(rx.got.length, before);
  } finally {
    await reopened.d.stop();
    await reopened.m.close();
    await rx.close();
  }
});

test('a receiver answering 400 MiB leaves memory where it was; the answer is stored as status and headers only', async () => {
  const total = 400 * 1024 * 1024;
  let sent = 0;
  const rx = await rawReceiver((req, res, got) => {
    got.push({ headers: req.headers, body: '' });
    req.resume();
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    res.writeHead(200, { 'content-type': 'text/plain', 'x-receiver': 'endless' });
    // Generated on the fly, honouring backpressure: the receiver itself holds one chunk at a time.
    Readable.from((function* () { while (sent < total) { sent += chunk.length; yield chunk; } })()).pipe(res);
    res.on('error', () => {});
  });
  const r = await rig(join(dir, 'big.db'), key, { allowPrivateNetworks: ['127.0.0.1/32'], timeoutMs: 60_000 });
  let peak = 0;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 5);
  try {
    await r.n.add(r.account, { url: rx.url }, 'al@example.com');
    const rssBefore = process.memoryUsage().rss;
    peak = rssBefore;
    await buildEvent(r, 'build.succeeded');
    const d = await until('the delivery to be recorded', async () => (await r.n.deliveries(r.account, { limit: 5 })).find((x) => x.attemptCount === 1), 60_000);
    clearInterval(sampler);
    const grownMiB = (peak - rssBefore) / 1024 / 1024;
    assert.equal(d.status, 'succeeded');
    assert.equal(d.attempts[0]!.statusCode, 200);
    assert.equal(d.attempts[0]!.error, null);
    assert.equal(d.attempts[0]!.headers?.['x-receiver'], 'endless');
    assert.ok(!JSON.stringify(d).includes('aaaa'), 'no byte of the body is stored');
    assert.ok(sent < 64 * 1024 * 1024, `the connection was cut early (${(sent / 1024 / 1024).toFixed(1)} MiB sent)`);
    assert.ok(grownMiB < 64, `RSS grew by ${grownMiB.toFixed(1)} MiB`);
  } finally {
    clearInterval(sampler);
    await r.d.stop();
    await r.m.close();
    await rx.close();
  }
});

test('a receiver that trickles its answer fails the attempt when the timeout passes, not when it stops', async () => {
  let closed = false;
  const rx = await rawReceiver((req, res, got) => {
    got.push({ headers: req.headers, body: '' });
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    // One byte every 100 ms for a minute: never 4 KiB, never the end, always "making progress".
    const t = setInterval(() => res.write('.'), 100);
    const stop = setTimeout(() => { clearInterval(t); res.end(); }, 60_000);
    res.on('close', () => { closed = true; clearInterval(t); clearTimeout(stop); });
  });
  const r = await rig(join(dir, 'slow.db'), key, { allowPrivateNetworks: ['127.0.0.1/32'], timeoutMs: 600, maxAttempts: 1 });
  try {
    await r.n.add(r.account, { url: rx.url }, 'al@example.com');
    await buildEvent(r, 'build.succeeded');
    const d = await until('the attempt to fail', async () => (await r.n.deliveries(r.account, { limit: 5 })).find((x) => x.status === 'failed'), 30_000);
    assert.match(d.attempts[0]!.error!, /no complete answer within 600 ms/);
    assert.ok(d.attempts[0]!.durationMs >= 600);
    await until('the receiver to see its connection closed', async () => closed);
  } finally {
    await r.d.stop();
    await r.m.close();
    await rx.close();
  }
});

test('a redirect into a network the setting does not allow is not followed', async () => {
  const inner = await rawReceiver((req, res, got) => { got.push({ headers: req.headers, body: '' }); req.resume(); res.end('secret'); }, { host: '127.0.0.2' });
  const outer = await rawReceiver((req, res, got) => {
    got.push({ headers: req.headers, body: '' });
    req.resume();
    res.writeHead(307, { location: inner.url }).end();
  });
  const r = await rig(join(dir, 'redirect.db'), key, { allowPrivateNetworks: ['127.0.0.1/32'], maxAttempts: 1 });
  try {
    await r.n.add(r.account, { url: outer.url }, 'al@example.com');
    await buildEvent(r, 'build.succeeded');
    const d = await until('the attempt to fail', async () => (await r.n.deliveries(r.account, { limit: 5 })).find((x) => x.status === 'failed'));
    assert.equal(d.attempts[0]!.statusCode, 307);
    assert.match(d.attempts[0]!.error!, /answered HTTP 307: redirects are not followed/);
    assert.equal(d.attempts[0]!.headers?.location, inner.url, 'the redirect target is shown so the owner can fix the URL');
    assert.equal(outer.got.length, 1);
    assert.equal(inner.got.length, 0, 'the private receiver was never called');
  } finally {
    await r.d.stop();
    await r.m.close();
    await Promise.all([inner.close(), outer.close()]);
  }
});
