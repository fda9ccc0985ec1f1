import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { dockerfileWithLabels } from './labels.ts';

const dir = mkdtempSync(join(tmpdir(), 'bg-labels-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const dockerfile = (text: string): string => {
  const d = join(dir, `ctx-${++n}`);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'Dockerfile'), text);
  return join(d, 'Dockerfile');
};
const labels = { 'org.opencontainers.image.revision': 'a'.repeat(40), 'org.opencontainers.image.source': 'https://git.example.com/acme/shop.git' };

test('appends one LABEL instruction to a copy, leaving the original untouched', async () => {
  const src = dockerfile('FROM busybox\nRUN echo hi\nCMD ["sh"]   \n\n');
  const out = await dockerfileWithLabels(src, labels, join(dir, 'out-1'));
  assert.ok(out);
  assert.equal(readFileSync(src, 'utf8'), 'FROM busybox\nRUN echo hi\nCMD ["sh"]   \n\n');
  assert.equal(readFileSync(out, 'utf8'),
    `FROM busybox\nRUN echo hi\nCMD ["sh"]\nLABEL "org.opencontainers.image.revision"="${'a'.repeat(40)}" "org.opencontainers.image.source"="https://git.example.com/acme/shop.git"\n`);
});

test('falls back to --label flags when appending could change the meaning', async () => {
  const plain = dockerfile('FROM busybox\n');
  for (const bad of [{ k: 'v$HOME' } as Record<string, string>, { k: 'say "hi"' }, { k: 'a\\b' }, { k: 'a`b' }, { k: 'two\nlines' }, { 'bad key': 'v' }]) {
    assert.equal(await dockerfileWithLabels(plain, bad, join(dir, 'out-2')), null, JSON.stringify(bad));
  }
  assert.equal(await dockerfileWithLabels(plain, {}, join(dir, 'out-2')), null, 'no labels: nothing to do');
  const continued = dockerfile('FROM busybox\nRUN echo a && \\\n');
  assert.equal(await dockerfileWithLabels(continued, labels, join(dir, 'out-3')), null);
  const own = dockerfile('FROM busybox\n');
  writeFileSync(`${own}.dockerignore`, 'secret\n');
  assert.equal(await dockerfileWithLabels(own, labels, join(dir, 'out-4')), null);
});
