import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '../../core/errors.ts';
import { cacheKeyFor, imageRepoComponent, parseGitUrl, withAddress } from './urls.ts';

const VALID: Array<[string, string, string | null, string, boolean?]> = [
  // url, kind, host, repoName, allowLocal
  ['https://github.com/acme/web.git', 'https', 'github.com', 'web'],
  ['https://github.com/acme/web', 'https', 'github.com', 'web'],
  ['https://GitLab.Example.com:8443/group/sub/My_App.git/', 'https', 'gitlab.example.com', 'My_App'],
  ['http://10.0.0.5/git/api.git', 'http', '10.0.0.5', 'api'],
  ['http://127.0.0.1:3000/x/Repo%20Name.git', 'http', '127.0.0.1', 'Repo Name'],
  ['ssh://git@github.com/acme/web.git', 'ssh', 'github.com', 'web'],
  ['ssh://git@git.example.com:2222/acme/web.git', 'ssh', 'git.example.com', 'web'],
  ['ssh://host.example/~alice/proj', 'ssh', 'host.example', 'proj'],
  ['git+ssh://git@host/acme/tool.git', 'ssh', 'host', 'tool'],
  ['ssh://git@[::1]:22/acme/v6.git', 'ssh', '[::1]', 'v6'],
  ['git@github.com:acme/web.git', 'ssh', 'github.com', 'web'],
  ['git@github.com:web', 'ssh', 'github.com', 'web'],
  ['example.com:srv/repos/Thing.GIT', 'ssh', 'example.com', 'Thing'],
  ['deploy@[fe80::1]:repos/x.git', 'ssh', '[fe80::1]', 'x'],
  ['file:///srv/git/local-repo.git', 'file', null, 'local-repo', true],
  ['file:///tmp/with%20space', 'file', null, 'with space', true],
];

test('valid git URLs parse to kind, host and repository name', () => {
  for (const [url, kind, host, repoName, allowLocal] of VALID) {
    const got = parseGitUrl(url, { allowLocal: allowLocal ?? false });
    assert.deepEqual({ kind: got.kind, host: got.host, repoName: got.repoName }, { kind, host, repoName }, url);
    assert.ok(!got.url.startsWith('-'), url);
  }
});

const HOSTILE: Array<[string, RegExp, boolean?]> = [
  ['', /empty/],
  ['https://user:ghp_secret@github.com/acme/web.git', /credentials.*git token/],
  ['https://ghp_secret@github.com/acme/web.git', /credentials/],
  ['http://oauth2:tok@gitlab.local/a/b.git', /credentials/],
  ['ssh://git:password@host/acme/web.git', /credentials/],
  ['git:password@host:acme/web.git', /credentials/],
  ['ext::sh -c touch% /tmp/pwned', /spaces|remote-helper/],
  ['ext::sh', /remote-helper/],
  ['fd::17', /remote-helper/],
  ['-uhelp', /must not start with "-"/],
  ['--upload-pack=touch /tmp/x', /spaces|must not start/],
  ['ssh://-oProxyCommand=touch/x/y', /invalid host/],
  ['-oProxyCommand=x@host:repo', /must not start/],
  ['https://github.com/acme/web .git', /spaces/],
  ['https://github.com/acme/web\n.git', /control/],
  ['https://github.com/acme/\u0000web', /control/],
  ['https://github.com/acme/web\t', /spaces/],
  ['https://github.com', /repository path/],
  ['https://github.com/', /repository path/],
  ['https://github.com/.git', /repository path/],
  ['ssh://git@host/', /repository path/],
  ['git@github.com:', /repository path/],
  ['https://github.com/acme/web.git?ref=main', /query/],
  ['https://github.com/acme/web.git#main', /query|fragment/],
  ['git://github.com/acme/web.git', /git:\/\/.*https/],
  ['ftp://host/acme/web.git', /unsupported scheme/],
  ['file:///srv/git/repo.git', /BUILDGRID_ALLOW_LOCAL_GIT=true/],
  ['file://otherhost/srv/repo.git', /BUILDGRID_ALLOW_LOCAL_GIT/],
  ['file://otherhost/srv/repo.git', /no host/, true],
  ['/srv/git/repo.git', /local path/],
  ['./repo', /file:\/\/\//, true],
  ['C:\\repos\\x', /backslash/],
  ['https://github.com\\@evil.com/a/b', /backslash/],
  ['justaname', /not a URL/],
  ['https://', /malformed/],
  ['x'.repeat(3000), /2048/],
];

test('hostile or unsupported git URLs are refused with AppError INVALID and a clear message', () => {
  for (const [url, message, allowLocal] of HOSTILE) {
    assert.throws(() => parseGitUrl(url, { allowLocal: allowLocal ?? false }), (err: unknown) => {
      assert.ok(isAppError(err, 'INVALID'), `${url}: ${String(err)}`);
      assert.match(err.message, message, url);
      return true;
    });
  }
});

test('credentials never appear in the refusal message', () => {
  assert.throws(() => parseGitUrl('https://bob:ghp_VERYSECRET@github.com/a/b.git', { allowLocal: false }), (err: Error) => {
    assert.doesNotMatch(err.message, /VERYSECRET/);
    return true;
  });
});

test('imageRepoComponent makes one valid lower-case OCI path component', () => {
  const cases: Array<[string, string]> = [
    ['web', 'web'],
    ['My_App', 'my_app'],
    ['Repo Name', 'repo-name'],
    ['a__b', 'a__b'],
    ['a___b', 'a-b'],
    ['a--b', 'a--b'],
    ['a.-b', 'a-b'],
    ['-lead.trail_', 'lead.trail'],
    ['Café-Über', 'cafe-uber'],
    ['..a..b..', 'a-b'],
    ['UPPER.case', 'upper.case'],
    ['x!!@#y', 'x-y'],
    ['123', '123'],
  ];
  for (const [input, want] of cases) {
    const got = imageRepoComponent(input);
    assert.equal(got, want, input);
    assert.match(got, /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/, input);
  }
  for (const hopeless of ['', '---', '...', '日本語', '@@']) {
    assert.throws(() => imageRepoComponent(hopeless), (e: unknown) => isAppError(e, 'INVALID'), hopeless);
  }
});

test('cacheKeyFor is a stable 32-character hex key that differs per URL', () => {
  const a = cacheKeyFor('https://github.com/acme/web.git');
  assert.match(a, /^[0-9a-f]{32}$/);
  assert.equal(cacheKeyFor('https://github.com/acme/web.git'), a);
  assert.notEqual(cacheKeyFor('https://github.com/acme/api.git'), a);
});

test('withAddress puts a checked address in place of the host, keeping user, port, path and form', () => {
  const cases: Array<[string, string, string]> = [
    ['https://git.example.com/a/b.git', '93.184.215.14', 'https://93.184.215.14/a/b.git'],
    ['ssh://git@git.example.com:2222/a/b.git', '2606:4700::1111', 'ssh://git@[2606:4700::1111]:2222/a/b.git'],
    ['git@git.example.com:a/b.git', '93.184.215.14', 'git@93.184.215.14:a/b.git'],
    ['git.example.com:a/b.git', '2606:4700::1111', '[2606:4700::1111]:a/b.git'],
  ];
  for (const [url, address, want] of cases) assert.equal(withAddress(parseGitUrl(url, { allowLocal: false }), address), want, url);
  assert.throws(() => withAddress(parseGitUrl('file:///srv/a.git', { allowLocal: true }), '127.0.0.1'), /no host/);
});
