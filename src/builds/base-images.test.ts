import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatReference, fromLines, normalizeReference, readConfinedDockerfile } from './base-images.ts';

const norm = (r: string) => {
  const n = normalizeReference(r);
  return n && formatReference(n);
};

test('references are normalised as Docker does', () => {
  const d = `sha256:${'a'.repeat(64)}`;
  const cases: Array<[string, string | null]> = [
    ['busybox', 'docker.io/library/busybox:latest'],
    ['node:20-slim', 'docker.io/library/node:20-slim'],
    ['library/busybox:1', 'docker.io/library/busybox:1'],
    ['acme/tool:2', 'docker.io/acme/tool:2'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['index.docker.io/library/busybox:1', 'docker.io/library/busybox:1'],
    ['ghcr.io/acme/base:1', 'ghcr.io/acme/base:1'],
    ['localhost/x', 'localhost/x:latest'],
    ['127.0.0.1:5000/library/busybox:1', '127.0.0.1:5000/library/busybox:1'],
    [`node@${d}`, `docker.io/library/node@${d}`],
    [`node:20@${d}`, `docker.io/library/node@${d}`],
    ['Node:20', null],
    ['node@sha256:short', null],
    ['', null],
    ['$UNSET', null],
  ];
  for (const [input, want] of cases) assert.equal(norm(input), want, input);
});

test('FROM lines: global ARGs (build args win), stages, scratch, continuations, flags, comments, escape directive', () => {
  const text = [
    '# syntax=docker/dockerfile:1',
    'ARG BASE=busybox:1 TOOL="alpine:3"',
    'ARG REG',
    'FROM --platform=$BUILDPLATFORM ${BASE} AS build',
    'RUN echo hi',
    '# FROM commented:out',
    'FROM \\',
    '  ${TOOL} as tool',
    'FROM build',
    'FROM scratch',
    'FROM ${REG:-ghcr.io}/acme/base:${MISSING:-2}',
    'from Tool',
  ].join('\n');
  assert.deepEqual(fromLines(text, {}), [
    { stage: 0, written: '${BASE}', expanded: 'busybox:1' },
    { stage: 1, written: '${TOOL}', expanded: 'alpine:3' },
    { stage: 4, written: '${REG:-ghcr.io}/acme/base:${MISSING:-2}', expanded: 'ghcr.io/acme/base:2' },
  ]);
  assert.equal(fromLines(text, { BASE: 'node:20', REG: 'quay.io' })[0]!.expanded, 'node:20');
  assert.equal(fromLines(text, { REG: 'quay.io' })[2]!.expanded, 'quay.io/acme/base:2');
  // ARG after the first FROM is a stage argument, not a global one.
  assert.deepEqual(fromLines('FROM a:1\nARG X=b:2\nFROM $X\n', {}).map((f) => f.expanded), ['a:1']);
  const backtick = '# escape=`\nFROM `\n  busybox:1\n';
  assert.deepEqual(fromLines(backtick, {}).map((f) => f.expanded), ['busybox:1']);
});

test('a Dockerfile that leads out of the checkout (symlink), or is too large, is not read', async () => {
  const root = await mkdtemp(join(tmpdir(), 'bg-bases-'));
  try {
    await mkdir(join(root, 'src'));
    await writeFile(join(root, 'outside'), 'FROM secret:1\n');
    await writeFile(join(root, 'src', 'Dockerfile'), 'FROM busybox:1\n');
    await symlink('../outside', join(root, 'src', 'Linked'));
    await writeFile(join(root, 'src', 'Huge'), Buffer.alloc(1024 * 1024 + 1, 'a'));
    const src = join(root, 'src');
    assert.equal(await readConfinedDockerfile(src, join(src, 'Dockerfile')), 'FROM busybox:1\n');
    assert.equal(await readConfinedDockerfile(src, join(src, 'Linked')), null);
    assert.equal(await readConfinedDockerfile(src, join(src, 'Huge')), null);
    assert.equal(await readConfinedDockerfile(src, join(src, 'Missing')), null);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
