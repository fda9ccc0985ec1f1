import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNetGuard } from '../core/netguard.ts';
import { rawReceiver } from './testing/notify-rig.ts';
import { postNotification } from './send.ts';

// What is kept of an answer: its status and a bounded set of headers, whatever the receiver sends.

test('an answer with many long headers is kept as at most 2 KiB of headers, each value cut to 256 characters', async () => {
  const rx = await rawReceiver((req, res) => {
    req.resume();
    const headers: Record<string, string> = { 'content-type': 'text/plain' };
    for (let i = 0; i < 40; i++) headers[`x-filler-${i}`] = String(i % 10).repeat(300);
    res.writeHead(202, headers).end('accepted');
  });
  try {
    const answer = await postNotification({ url: rx.url, body: '{}', headers: {}, timeoutMs: 5000, guard: createNetGuard({ allow: ['127.0.0.1/32'] }) });
    assert.equal(answer.statusCode, 202);
    assert.equal(answer.headers['content-type'], 'text/plain');
    assert.ok(JSON.stringify(answer.headers).length <= 2048, `${JSON.stringify(answer.headers).length} characters kept`);
    assert.ok(Object.values(answer.headers).every((v) => v.length <= 256));
    assert.equal(answer.headers['x-filler-0'], '0'.repeat(256));
    assert.equal(answer.headers['x-filler-39'], undefined, 'headers past the budget are dropped');
  } finally {
    await rx.close();
  }
});

test('a refused address literal is never connected to', async () => {
  let connections = 0;
  const rx = await rawReceiver((req, res) => { connections++; req.resume(); res.end(); });
  try {
    await assert.rejects(postNotification({ url: rx.url, body: '{}', headers: {}, timeoutMs: 5000, guard: createNetGuard({ allow: false }) }),
      /destination 127\.0\.0\.1 is a private address \(loopback\)/);
    await assert.rejects(postNotification({ url: rx.url.replace('127.0.0.1', '[::ffff:127.0.0.1]'), body: '{}', headers: {}, timeoutMs: 5000, guard: createNetGuard({ allow: false }) }),
      /destination ::ffff:7f00:1 is a private address \(loopback\), written as IPv6 \(IPv4-mapped\)/);
    assert.equal(connections, 0);
  } finally {
    await rx.close();
  }
});
