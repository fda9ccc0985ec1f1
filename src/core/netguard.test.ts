import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { request } from 'node:http';
import { createNetGuard, DestinationRefused, parsePrivateNetworks, type ResolvedAddress } from './netguard.ts';

// The destination policy: every refused range in its plain and IPv6-embedded forms, what the operator's list opens,
// and a pinned lookup that a changing DNS answer cannot get around (checked with a real socket on loopback).

const deny = createNetGuard({ allow: false, ownAddresses: () => ['203.0.113.9', '2001:db8::9'] });

test('loopback, private, CGNAT, link-local, metadata, ULA, unspecified, multicast and own addresses are refused', () => {
  const refused = [
    '127.0.0.1', '127.255.0.9', '::1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.0.1', '100.64.0.1', '100.127.255.254',
    '169.254.169.254', 'fe80::1', 'fe80::1%eth0', 'fd00:ec2::254', 'fc00::1', '0.0.0.0', '::', '224.0.0.1', 'ff02::1', '255.255.255.255',
    '::ffff:127.0.0.1', '::ffff:7f00:1', '[::ffff:169.254.169.254]', '::ffff:10.0.0.1', '::127.0.0.1', '64:ff9b::a9fe:a9fe', '2002:7f00:1::1',
    '203.0.113.9', '2001:db8::9', '::ffff:203.0.113.9',
  ];
  for (const a of refused) assert.notEqual(deny.refusal(a), null, `${a} must be refused`);
  assert.equal(deny.refusal('127.0.0.1'), 'a private address (loopback)');
  assert.equal(deny.refusal('::ffff:127.0.0.1'), 'a private address (loopback), written as IPv6 (IPv4-mapped)');
  assert.equal(deny.refusal('203.0.113.9'), "this server's own address");
});

test('public addresses pass', () => {
  for (const a of ['8.8.8.8', '172.32.0.1', '100.128.0.1', '1.1.1.1', '2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '2001:4860:4860::8888']) {
    assert.equal(deny.refusal(a), null, `${a} is public`);
  }
});

test('allowPrivateNetworks: true allows everything; a list allows its CIDRs (in every written form) and nothing else', () => {
  const all = createNetGuard({ allow: true, ownAddresses: () => ['203.0.113.9'] });
  for (const a of ['127.0.0.1', '169.254.169.254', 'fd00:ec2::254', '203.0.113.9']) assert.equal(all.refusal(a), null);
  const some = createNetGuard({ allow: ['127.0.0.0/8', 'fd00::/8', '203.0.113.9'], ownAddresses: () => ['203.0.113.9'] });
  for (const a of ['127.0.0.1', '127.3.2.1', '::ffff:127.0.0.1', 'fd00:ec2::254', '203.0.113.9']) assert.equal(some.refusal(a), null, `${a} is listed`);
  for (const a of ['::1', '10.0.0.1', '169.254.169.254', 'fc00::1']) assert.notEqual(some.refusal(a), null, `${a} is not listed`);
});

test('the setting parses from JSON, the environment (comma-separated or JSON) and refuses what is not a CIDR', () => {
  assert.equal(parsePrivateNetworks(false), false);
  assert.equal(parsePrivateNetworks('true'), true);
  assert.equal(parsePrivateNetworks('0'), false);
  assert.equal(parsePrivateNetworks(''), false);
  assert.equal(parsePrivateNetworks([]), false);
  assert.deepEqual(parsePrivateNetworks('10.0.0.0/8, fd00::/8'), ['10.0.0.0/8', 'fd00::/8']);
  assert.deepEqual(parsePrivateNetworks('["192.168.1.0/24","127.0.0.1"]'), ['192.168.1.0/24', '127.0.0.1']);
  assert.deepEqual(parsePrivateNetworks(['::1/128']), ['::1/128']);
  for (const bad of ['10.0.0.0/33', 'intranet', '["x"]', '1.2.3.4/8/9', '[1', '{"a":1}', 'fe80::1%eth0/64']) {
    assert.throws(() => parsePrivateNetworks(bad), /CIDR|JSON/, bad);
  }
});

test('resolve checks every address of a name and names the one refused', async () => {
  const table: Record<string, ResolvedAddress[]> = {
    'mixed.test': [{ address: '93.184.215.14', family: 4 }, { address: '10.0.0.5', family: 4 }],
    'public.test': [{ address: '93.184.215.14', family: 4 }],
  };
  const g = createNetGuard({ allow: false, ownAddresses: () => [], resolver: async (h) => table[h] ?? [] });
  await assert.rejects(g.resolve('mixed.test'), (err: unknown) => {
    assert.ok(err instanceof DestinationRefused);
    assert.equal(err.message, 'destination mixed.test (10.0.0.5) is a private address (RFC 1918); an administrator can allow it with allowPrivateNetworks');
    return true;
  });
  assert.deepEqual(await g.resolve('public.test'), table['public.test']);
  await assert.rejects(g.resolve('nothing.test'), /nothing.test has no address/);
  await assert.rejects(deny.resolve('127.0.0.1'), /^DestinationRefused: destination 127.0.0.1 is a private address \(loopback\); an administrator can allow it with allowPrivateNetworks$/);
  await assert.rejects(deny.resolve('[::1]'), /destination ::1 is a private address/);
  await assert.rejects(deny.resolve('localhost'), /destination localhost \(127\.0\.0\.1\) is a private address \(loopback\)/, 'the system resolver (/etc/hosts) is checked too');
});

test('a socket given the guard\'s lookup connects only to what was checked, even when the name changes its answer', async () => {
  const server = createServer((_req, res) => res.end('reached'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    // A rebinding name: public at the first question, loopback at every later one.
    let asked = 0;
    const rebinding = async (): Promise<ResolvedAddress[]> => (asked++ === 0 ? [{ address: '93.184.215.14', family: 4 }] : [{ address: '127.0.0.1', family: 4 }]);
    const g = createNetGuard({ allow: false, ownAddresses: () => [], resolver: rebinding });
    await g.resolve('rebind.test'); // the "check" a careless caller would do before connecting
    const outcome = await new Promise<string>((resolve) => {
      const req = request({ host: 'rebind.test', port, lookup: g.lookup, path: '/' }, (res) => { res.resume(); resolve(`connected ${res.statusCode}`); });
      req.on('error', (err) => resolve(err.message));
      req.end();
    });
    assert.match(outcome, /destination rebind\.test \(127\.0\.0\.1\) is a private address \(loopback\)/);
    const open = createNetGuard({ allow: ['127.0.0.1/32'], ownAddresses: () => [], resolver: rebinding });
    const ok = await new Promise<string>((resolve, reject) => {
      const req = request({ host: 'rebind.test', port, lookup: open.lookup, path: '/' }, (res) => { res.resume(); resolve(`connected ${res.statusCode}`); });
      req.on('error', reject);
      req.end();
    });
    assert.equal(ok, 'connected 200');
  } finally {
    await new Promise((r) => server.close(r));
  }
});
