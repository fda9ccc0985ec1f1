import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAppError } from '../core/errors.ts';
import { branchNameProblem, checkBranchName } from './branches.ts';

// [name, the rule we name (null: valid)]. Every row is also checked against git's own `check-ref-format --branch`.
const TABLE: Array<[string, RegExp | null]> = [
  ['main', null], ['release/1.x', null], ['feature/login-page', null], ['héllo', null], ['a@b', null], ['a{b}', null],
  ['a.lock.x', null], ['x/HEAD', null], ['HEAD/x', null], ['v1.2.3', null], ['refs/heads/main', null], ['_', null],
  ['', /empty/],
  ['--upload-pack=touch /tmp/pwned', /start with "-"/],
  ['-b', /start with "-"/],
  ['HEAD', /must not be "HEAD"/],
  ['../../etc', /"\.\."/],
  ['a..b', /"\.\."/],
  ['main@{1}', /"@\{"/],
  ['@{-1}', /"@\{"/],
  ['a b', /spaces/],
  ['a\tb', /control/],
  ['a\nb', /control/],
  ['a\u007fb', /control/],
  ['x~1', /"~"/], ['x^', /"\^"/], ['a:b', /":"/], ['a?', /"\?"/], ['a*', /"\*"/], ['a[b', /"\["/], ['a\\b', /"\\"/],
  ['feature/', /end with "\/"/],
  ['/feature', /start with "\/"/],
  ['a//b', /"\/\/"/],
  ['ab.', /end with "\."/],
  ['.hidden', /starting with "\."/],
  ['a/.b', /starting with "\."/],
  ['topic.lock', /\.lock/],
  ['a.lock/b', /\.lock/],
  ['x'.repeat(256), /at most 255/],
];

// Where we are stricter than `git check-ref-format --branch`: git reads "@" as a shorthand for the current branch.
const STRICTER = new Set(['@']);

function gitAccepts(name: string, cwd: string): boolean {
  const r = spawnSync('git', ['check-ref-format', '--branch', name], {
    cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_CEILING_DIRECTORIES: cwd, GIT_CONFIG_NOSYSTEM: '1', HOME: cwd },
  });
  return r.status === 0;
}

test('branch names: each row names the rule it breaks, and agrees with git check-ref-format --branch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-refname-')); // not a repository: no @{-1} to expand
  try {
    for (const [name, rule] of TABLE) {
      const problem = branchNameProblem(name);
      if (rule === null) assert.equal(problem, null, `${JSON.stringify(name)} should be valid`);
      else assert.match(problem ?? '(valid)', rule, JSON.stringify(name));
      if (name.length <= 255) assert.equal(problem === null, gitAccepts(name, dir), `git disagrees about ${JSON.stringify(name)}`);
    }
    for (const name of STRICTER) {
      assert.notEqual(branchNameProblem(name), null);
      assert.equal(gitAccepts(name, dir), true);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('checkBranchName throws INVALID with the name (control characters escaped) and the rule', () => {
  assert.equal(checkBranchName('release/1.x'), 'release/1.x');
  assert.throws(() => checkBranchName('a\nb'), (e) => isAppError(e, 'INVALID') && /"a\\x0ab".*control characters/.test((e as Error).message));
  assert.throws(() => checkBranchName('--upload-pack=x'), (e) => isAppError(e, 'INVALID') && /must not start with "-"/.test((e as Error).message));
});
