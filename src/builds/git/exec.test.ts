import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitError, redact, runGit, shellQuote } from './exec.ts';

let home: string;
before(async () => { home = await mkdtemp(join(tmpdir(), 'bg-git-exec-')); });
after(async () => { await rm(home, { recursive: true, force: true }); });

test('redact hides every secret and credentials inside URLs, longest first', () => {
  assert.equal(redact('token abcd1234 and abcd1234XYZ', ['abcd1234', 'abcd1234XYZ']), 'token *** and ***');
  assert.equal(redact("fatal: unable to access 'https://user:pw@host/x'", []), "fatal: unable to access 'https://***@host/x'");
  assert.equal(redact('short ab stays', ['ab', '']), 'short ab stays');
});

test('shellQuote survives sh for awkward paths', () => {
  for (const s of ["plain", "with space", "it's", "$(touch /tmp/x)", "a\"b", "-o x"]) {
    assert.equal(execFileSync('sh', ['-c', `printf %s ${shellQuote(s)}`], { encoding: 'utf8' }), s);
  }
});

test('git sees only our configuration and none of the parent environment', async () => {
  process.env.GIT_DIR = '/nonexistent/repo';
  try {
    const { stdout } = await runGit(['config', '--list', '--show-scope'], { home, allowLocal: false, secretConfig: { 'http.extraHeader': 'Authorization: Basic c2VjcmV0LXZhbHVl' } });
    const scopes = new Set(stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]));
    assert.deepEqual([...scopes], ['command']);
    assert.match(stdout, /protocol\.ext\.allow=never/);
    assert.match(stdout, /protocol\.file\.allow=never/);
    assert.match(stdout, /http\.extraheader=\*\*\*/i, 'secret config values are redacted from output');
  } finally {
    delete process.env.GIT_DIR;
  }
});

test('a failing git is a GitError with the redacted stderr tail; stderr lines reach the callback', async () => {
  const lines: string[] = [];
  await assert.rejects(runGit(['--git-dir', join(home, 'missing'), 'log', 'secret-ref-4242'], { home, allowLocal: false, secrets: ['secret-ref-4242'], onStderrLine: (l) => lines.push(l) }),
    (err: unknown) => {
      assert.ok(err instanceof GitError);
      assert.equal(err.reason, 'exit');
      assert.match(err.stderrTail, /not a git repository/);
      assert.ok(!err.message.includes('secret-ref-4242') && !err.stderrTail.includes('secret-ref-4242'));
      return true;
    });
  assert.ok(lines.some((l) => /not a git repository/.test(l)), lines.join('\n'));
});
