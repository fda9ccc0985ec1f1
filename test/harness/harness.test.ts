// Self-test of the real-client harness: busybox image → reference registry (skopeo) → private dockerd (pull + run).
// Needs root plus Debian's skopeo, docker-registry, docker.io. If dockerd cannot start, ONLY the docker part is skipped,
// with a loud warning.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeBusyboxImage, type BusyboxImage } from './busybox.ts';
import { tryStartDockerd } from './dockerd.ts';
import { partMissing, skipOrFail } from './require.ts';
import { startReferenceRegistry, type ReferenceRegistry } from './reference-registry.ts';
import { pidAlive, pidsMatching, run, runOk, tempDir, which, type TempDir } from './tools.ts';

describe('test harness', () => {
  let tmp: TempDir;
  let img: BusyboxImage;
  let registry: ReferenceRegistry | undefined;
  const ref = (): string => `${registry!.host}/library/busybox:1`;

  before(async () => {
    tmp = await tempDir('bgh-');
    img = await makeBusyboxImage(join(tmp.path, 'img'), { extraFiles: { 'etc/motd': 'built by the harness\n' } });
    registry = await startReferenceRegistry({ auth: 'none' });
  });

  after(async () => {
    const pid = registry?.pid;
    await registry?.stop();
    if (pid !== undefined) assert.equal(pidAlive(pid), false, 'docker-registry still running after stop()');
    await tmp?.cleanup();
  });

  test('busybox OCI layout is valid and self-consistent', async () => {
    const index = JSON.parse(await readFile(join(img.layoutDir, 'index.json'), 'utf8'));
    assert.equal(index.manifests[0].digest, img.manifestDigest);
    const manifest = JSON.parse(img.manifestBytes.toString('utf8'));
    for (const d of [manifest.config, ...manifest.layers]) {
      const blob = await readFile(join(img.layoutDir, 'blobs', 'sha256', d.digest.slice(7)));
      assert.equal(blob.length, d.size);
      assert.equal(`sha256:${createHash('sha256').update(blob).digest('hex')}`, d.digest);
    }
    const config = JSON.parse(img.configBytes.toString('utf8'));
    assert.deepEqual(config.rootfs.diff_ids, img.layers.map((l) => l.diffId));
    assert.equal(config.os, 'linux');

    const inspect = await runOk('skopeo', ['inspect', `oci:${img.layoutDir}`]);
    assert.equal(JSON.parse(inspect.stdout).Digest, img.manifestDigest);
    await runOk('skopeo', ['inspect', `docker-archive:${img.dockerArchive}`]);

    if (which('umoci')) {
      const bundle = join(tmp.path, 'bundle');
      await runOk('umoci', ['unpack', '--image', `${img.layoutDir}:${img.tag}`, bundle]);
      const sh = await runOk('chroot', [join(bundle, 'rootfs'), '/bin/sh', '-c', 'echo hello; cat /etc/motd']);
      assert.equal(sh.stdout, 'hello\nbuilt by the harness\n');
    } else {
      partMissing('umoci', 'unpacking and running the harness image (harness.test.ts)', 'umoci is not installed');
    }
  });

  test('random benchmark layers are deterministic', async () => {
    const a = await makeBusyboxImage(join(tmp.path, 'ra'), { layers: 3, layerSizeBytes: 100_000 });
    const b = await makeBusyboxImage(join(tmp.path, 'rb'), { layers: 3, layerSizeBytes: 100_000 });
    const c = await makeBusyboxImage(join(tmp.path, 'rc'), { layers: 3, layerSizeBytes: 100_000, seed: 'other' });
    assert.equal(a.layers.length, 4);
    assert.equal(a.manifestDigest, b.manifestDigest);
    assert.notEqual(a.manifestDigest, c.manifestDigest);
    assert.equal(a.layers[0]!.digest, c.layers[0]!.digest, 'busybox base layer is shared');
    assert.ok(a.layers[1]!.size > 100_000, 'random data does not compress');
  });

  test('skopeo pushes the image into the reference registry', async () => {
    await runOk('skopeo', ['copy', '--dest-tls-verify=false', `oci:${img.layoutDir}`, `docker://${ref()}`]);
    const r = await fetch(`${registry!.url}/v2/library/busybox/manifests/1`, {
      headers: { accept: img.manifestMediaType },
    });
    const body = Buffer.from(await r.arrayBuffer());
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('docker-content-digest'), img.manifestDigest);
    assert.deepEqual(body, img.manifestBytes);
  });

  test('reference registry auth modes (htpasswd, token) reject anonymous and accept the user', async () => {
    for (const auth of ['htpasswd', 'token'] as const) {
      const reg = await startReferenceRegistry({ auth });
      try {
        const dest = `docker://${reg.host}/library/busybox:1`;
        const anon = await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${img.layoutDir}`, dest]);
        assert.notEqual(anon.code, 0, `${auth}: anonymous push must fail`);
        await runOk('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', `${reg.username}:${reg.password}`, `oci:${img.layoutDir}`, dest]);
        const ok = await runOk('skopeo', ['inspect', '--tls-verify=false', '--creds', `${reg.username}:${reg.password}`, dest]);
        assert.equal(JSON.parse(ok.stdout).Digest, img.manifestDigest);
      } finally {
        await reg.stop();
      }
      assert.equal(pidAlive(reg.pid), false);
    }
  });

  test('docker pulls from the reference registry over plain HTTP and runs the image', async (t) => {
    const started = await tryStartDockerd();
    if (!started.ok) return skipOrFail(t, 'dockerd', started.reason);
    const dockerd = started.dockerd;
    try {
      const pull = await dockerd.run(['pull', ref()]);
      assert.equal(pull.code, 0, pull.stderr);
      assert.match(pull.stdout, new RegExp(`Digest: ${img.manifestDigest}`));
      const hello = await dockerd.run(['run', '--rm', '--network', 'host', ref(), 'echo', 'hello']);
      assert.equal(hello.code, 0, hello.stderr);
      assert.equal(hello.stdout, 'hello\n');

      // The docker-archive of the same image loads and runs too.
      const load = await dockerd.run(['load', '-i', img.dockerArchive]);
      assert.equal(load.code, 0, load.stderr);
      const motd = await dockerd.run(['run', '--rm', '--network', 'host', `busybox:${img.tag}`, 'cat', '/etc/motd']);
      assert.equal(motd.stdout, 'built by the harness\n', motd.stderr);
      const id = await dockerd.run(['image', 'inspect', '--format', '{{.Id}}', `busybox:${img.tag}`]);
      assert.equal(id.stdout.trim(), img.configDigest);

      // A container left running must not survive stop().
      const detached = await dockerd.run(['run', '-d', '--network', 'host', ref(), 'sleep', '600']);
      assert.equal(detached.code, 0, detached.stderr);
    } finally {
      await dockerd.stop();
    }
    assert.equal(pidAlive(dockerd.pid), false, 'dockerd still running after stop()');
    assert.deepEqual(pidsMatching(dockerd.rootDir), [], 'processes (containerd / shims) left behind');
    assert.equal(existsSync(dockerd.rootDir), false, 'dockerd temp dir left behind');
  });
});
