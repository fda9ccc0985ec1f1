import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sha256Of } from '../../src/core/digest.ts';
import { MediaType } from '../../src/oci/mediatypes.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { makeWorld, adminClient, pushRandomImage, basic, type World, type PushedImage } from '../support/world.ts';

// Answers the OCI distribution spec v1.1 fixes exactly, checked with a plain HTTP client (fetch), no registry library:
// a manifest read by a reference that is neither a tag nor a digest is 404 MANIFEST_UNKNOWN (the spec's table lists
// only 404 for GET/HEAD of a manifest), and a mount's challenge names the source repository too, so a token client
// that asks for exactly what the challenge names mounts in one round.
let s: TestServer;
let w: World;
let img: PushedImage;
let A: string;

before(async () => {
  s = await startTestServer();
  w = await makeWorld(s);
  A = basic('admin', w.adminToken);
  img = await pushRandomImage(adminClient(s, w.adminToken), 'acme/app.web', 'v1');
});
after(async () => s.stop());

const BAD_REFERENCES = ['sha256:123', `sha256:${'A'.repeat(64)}`, 'md5:0123456789abcdef0123456789abcdef', 't'.repeat(129), '.hidden', '-dash', 'a%20b'];

test('GET and HEAD of a manifest by a reference that is neither tag nor digest: 404 MANIFEST_UNKNOWN', async () => {
  for (const ref of BAD_REFERENCES) {
    for (const method of ['GET', 'HEAD']) {
      const r = await fetch(`${s.url}/v2/acme/app.web/manifests/${ref}`, { method, headers: { authorization: A } });
      const text = await r.text();
      assert.equal(r.status, 404, `${method} ${ref}: ${text}`);
      if (method === 'GET') assert.equal(JSON.parse(text).errors[0].code, 'MANIFEST_UNKNOWN', `${ref}: ${text}`);
    }
  }
  // Unchanged around it: the repository still answers by tag and digest; an unknown repository is a 404 either way.
  assert.equal((await fetch(`${s.url}/v2/acme/app.web/manifests/${img.manifestDigest}`, { method: 'HEAD', headers: { authorization: A } })).status, 200);
  assert.equal((await fetch(`${s.url}/v2/acme/app.web/manifests/v1`, { headers: { authorization: A } })).status, 200);
  assert.equal((await fetch(`${s.url}/v2/acme/nothing/manifests/.hidden`, { headers: { authorization: A } })).status, 404);
  // A caller who may not read the repository learns nothing from the reference either: the same 404 as a missing one.
  const viewer = basic(w.globexDev.registry.username, w.globexDev.registry.password);
  const other = await fetch(`${s.url}/v2/acme/app.web/manifests/.hidden`, { headers: { authorization: viewer } });
  assert.equal(other.status, 404);
  assert.equal(((await other.json()) as any).errors[0].code, 'NAME_UNKNOWN');
  // Anonymous callers are still asked to authenticate first; nothing about the reference is answered before that.
  assert.equal((await fetch(`${s.url}/v2/acme/app.web/manifests/.hidden`)).status, 401);
});

test('PUT and DELETE of a manifest by a malformed reference keep their 400', async () => {
  const put = await fetch(`${s.url}/v2/acme/app.web/manifests/.hidden`, {
    method: 'PUT', body: new Uint8Array(img.manifest), headers: { authorization: A, 'content-type': MediaType.ociManifest },
  });
  assert.equal(put.status, 400);
  assert.equal(((await put.json()) as any).errors[0].code, 'MANIFEST_INVALID');
  const del = await fetch(`${s.url}/v2/acme/app.web/manifests/sha256:123`, { method: 'DELETE', headers: { authorization: A } });
  assert.equal(del.status, 400);
  assert.equal(((await del.json()) as any).errors[0].code, 'DIGEST_INVALID');
});

/** The scopes of a Bearer challenge's `scope` parameter (space-separated, as distribution writes them). */
function challengedScopes(header: string | null): string[] {
  assert.ok(header, 'a WWW-Authenticate challenge');
  const m = /scope="([^"]*)"/.exec(header);
  assert.ok(m, `a scope in ${header}`);
  return m[1]!.split(' ');
}

test('a mount challenge asks for pull on the source, so a token client mounts in one round (201)', async () => {
  const data = randomBytes(777);
  const digest = sha256Of(data);
  const up = await fetch(`${s.url}/v2/acme/app.src/blobs/uploads/?digest=${digest}`, { method: 'POST', body: data, headers: { authorization: A, 'content-type': 'application/octet-stream' } });
  assert.equal(up.status, 201);

  const mountUrl = `${s.url}/v2/acme/app.dst/blobs/uploads/?mount=${digest}&from=acme/app.src`;
  const first = await fetch(mountUrl, { method: 'POST' });
  assert.equal(first.status, 401);
  const header = first.headers.get('www-authenticate');
  const scopes = challengedScopes(header);
  assert.deepEqual(scopes.sort(), ['repository:acme/app.dst:pull,push', 'repository:acme/app.src:pull']);

  // The token client: asks the realm for exactly the challenged scopes, then retries once.
  const realm = /realm="([^"]*)"/.exec(header!)![1]!;
  const service = /service="([^"]*)"/.exec(header!)![1]!;
  const q = new URLSearchParams({ service });
  for (const sc of scopes) q.append('scope', sc);
  const t = await fetch(`${realm}?${q}`, { headers: { authorization: A } });
  assert.equal(t.status, 200);
  const token = ((await t.json()) as { token: string }).token;
  const second = await fetch(mountUrl, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  assert.equal(second.status, 201, 'mounted, not fallen back to an upload session');
  assert.equal(second.headers.get('docker-content-digest'), digest);
  const head = await fetch(`${s.url}/v2/acme/app.dst/blobs/${digest}`, { method: 'HEAD', headers: { authorization: `Bearer ${token}` } });
  assert.equal(head.status, 200);
});

test('the mount challenge names only a valid source, and a plain upload is challenged for its own repository alone', async () => {
  const digest = sha256Of('x');
  const plain = await fetch(`${s.url}/v2/acme/app.dst/blobs/uploads/`, { method: 'POST' });
  assert.deepEqual(challengedScopes(plain.headers.get('www-authenticate')), ['repository:acme/app.dst:pull,push']);
  // A malformed `from` cannot inject anything into the header: it is left out.
  for (const from of ['Bad/Name', 'acme/app.src" ,realm="http://evil', 'acme/app.src repository:globex/shop:pull']) {
    const r = await fetch(`${s.url}/v2/acme/app.dst/blobs/uploads/?mount=${digest}&from=${encodeURIComponent(from)}`, { method: 'POST' });
    assert.equal(r.status, 401);
    const h = r.headers.get('www-authenticate')!;
    assert.deepEqual(challengedScopes(h), ['repository:acme/app.dst:pull,push'], h);
    assert.equal(h.match(/realm=/g)?.length, 1, h);
  }
});
