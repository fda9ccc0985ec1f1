import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { clientAddress, parseCidr, trustedProxies } from './client-address.ts';

const req = (peer: string, xff?: string | string[]) =>
  ({ socket: { remoteAddress: peer }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as unknown as IncomingMessage;

test('parseCidr takes addresses and CIDRs of both families, nothing else', () => {
  assert.deepEqual(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
  assert.deepEqual(parseCidr(' 127.0.0.1 '), { address: '127.0.0.1', prefix: 32, family: 'ipv4' });
  assert.deepEqual(parseCidr('fd00::/8'), { address: 'fd00::', prefix: 8, family: 'ipv6' });
  for (const bad of ['', 'localhost', '10.0.0.0/33', '::/129', '10.0.0.0/8/1', '10.0.0.0/x', '10.0.0/8', '1.2.3.4/-1']) {
    assert.equal(parseCidr(bad), null, bad);
  }
  assert.throws(() => trustedProxies(['10.0.0.0/8', 'proxy.local']), /"proxy\.local" is not an IP address or CIDR/);
});

test('with no trusted proxy the socket peer is the client, whatever the header says', () => {
  const none = trustedProxies([]);
  assert.equal(clientAddress(req('203.0.113.7', '198.51.100.1'), none), '203.0.113.7');
  assert.equal(clientAddress(req('::ffff:203.0.113.7'), none), '203.0.113.7', 'IPv4-mapped peers read as IPv4');
});

test('behind trusted proxies the right-most untrusted hop is the client', () => {
  const t = trustedProxies(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);
  assert.equal(clientAddress(req('127.0.0.1', '203.0.113.7'), t), '203.0.113.7');
  assert.equal(clientAddress(req('::ffff:127.0.0.1', '203.0.113.7'), t), '203.0.113.7');
  assert.equal(clientAddress(req('127.0.0.1', '1.1.1.1, 203.0.113.7, 10.0.0.5'), t), '203.0.113.7', 'spoofed left part ignored');
  assert.equal(clientAddress(req('127.0.0.1', ['1.1.1.1', '203.0.113.7']), t), '203.0.113.7', 'repeated headers are one list');
  assert.equal(clientAddress(req('fd00::1', '2001:db8::5'), t), '2001:db8::5');
  assert.equal(clientAddress(req('127.0.0.1', '10.0.0.9, 10.0.0.5'), t), '10.0.0.9', 'all trusted: the left-most hop');
  assert.equal(clientAddress(req('127.0.0.1'), t), '127.0.0.1', 'no header: the proxy itself');
  assert.equal(clientAddress(req('127.0.0.1', '203.0.113.7, garbage, 10.0.0.5'), t), '10.0.0.5', 'a malformed hop ends the walk');
  assert.equal(clientAddress(req('192.0.2.1', '203.0.113.7'), t), '192.0.2.1', 'an untrusted peer\'s header is ignored');
});
