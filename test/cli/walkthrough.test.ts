// The README's "A first session", run as written against a fresh server, so the manual cannot drift from the product.
// The commands come from the README itself (its first ```sh block under "## A first session"); each is run as a
// reader would type it, with only the address changed: the server listens on 127.0.0.1:<free port> rather than
// localhost:5000 (BUILDGRID_SERVER points the CLI there). A command this file does not know fails the test, so a new
// step in the README gets a check here. The docker lines need a private Docker Engine (test/harness/dockerd.ts).

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.ts';
import { tryStartDockerd } from '../harness/dockerd.ts';
import { skipOrFail } from '../harness/require.ts';
import { run, type RunResult } from '../harness/tools.ts';
import { cli, type CliResult } from '../support/cli.ts';
import { ADMIN, startTestServer, type TestServer } from '../support/server.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The walkthrough's command lines, comments and blank lines dropped. */
function walkthrough(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## A first session$/m)[1]?.split(/^## /m)[0];
  const block = section?.match(/```sh\n([\s\S]*?)```/)?.[1];
  assert.ok(block, 'README.md has a "## A first session" section with a ```sh block');
  return block.split('\n').map(dropComment).filter((l) => l !== '');
}

/** The line without a trailing `# comment` (a # outside quotes after whitespace, or at the start). */
function dropComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) { if (c === quote) quote = null; continue; }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i).trim();
  }
  return line.trim();
}

/** Shell words of a simple command line (quotes, no expansion). */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

let s: TestServer;
let cwd: string;
let env: Record<string, string>;
const lines = walkthrough();
/** Step 5's docker lines (login, pull, tag, push), run only where a Docker Engine can start. */
const dockerLines = lines.filter((l) => /^(echo .*\| )?docker /.test(l));
/** What a reader notes down on the way: passwords the commands print, the registry credentials. */
const noted: { janePassword?: string; username?: string; password?: string } = {};

before(async () => {
  // The README signs in with the default administrator email; the test server takes it, with a known password.
  s = await startTestServer({ adminEmail: loadConfig({ env: {} }).adminEmail });
  cwd = mkdtempSync(join(tmpdir(), 'bg-walkthrough-'));
  env = { XDG_CONFIG_HOME: join(cwd, 'config'), BUILDGRID_SERVER: s.url };
});
after(async () => {
  await s?.stop();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

/** The README line, with localhost:5000 replaced by the test server's address. */
const here = (line: string): string => line.replaceAll('http://localhost:5000', s.url).replaceAll('localhost:5000', s.host);

async function buildgrid(line: string): Promise<CliResult> {
  const args = words(here(line)).slice(1);
  let input: string | undefined;
  if (args.includes('--password-stdin')) {
    const email = args[args.indexOf('--email') + 1];
    input = email === loadConfig({ env: {} }).adminEmail ? `${ADMIN.password}\n` : `${noted.janePassword}\n`;
    assert.ok(email === loadConfig({ env: {} }).adminEmail || noted.janePassword, `${line}: no password noted for ${email} yet`);
  }
  const r = await cli(args, env, input, 120_000, cwd);
  assert.equal(r.code, 0, `\`${line}\` failed:\n${r.stderr}\n${r.stdout}`);
  const generated = r.stdout.match(/^Password \(shown once\): (\S+)$/m)?.[1];
  if (generated) noted.janePassword = generated;
  const creds = r.stdout.match(/^Registry:\s+(\S+)\nUsername:\s+(\S+)\nPassword:\s+(\S+)$/m);
  if (creds) {
    assert.equal(creds[1], s.host, 'credentials show names this server as the registry');
    [noted.username, noted.password] = [creds[2], creds[3]];
  }
  return r;
}

test('the walkthrough up to Jane\'s credentials runs as typed', { timeout: 300_000 }, async () => {
  for (const line of lines.filter((l) => !dockerLines.includes(l))) {
    const [cmd] = words(line);
    if (line === 'scripts/start.sh') {
      // Step 1 is the server this test started; check that the script still starts `buildgrid serve`.
      assert.match(readFileSync(join(ROOT, 'scripts/start.sh'), 'utf8'), /^exec bin\/buildgrid\.mjs serve "\$@"/m);
    } else if (line.startsWith('alias buildgrid=')) {
      assert.equal(line, 'alias buildgrid="$PWD/bin/buildgrid.mjs"', 'the CLI this test runs is bin/buildgrid.mjs');
    } else if (cmd === 'buildgrid') {
      await buildgrid(line);
    } else if (cmd === 'npx' && words(line)[1] === 'tsx') {
      // `npx tsx` from the checkout: the project's own tsx, in the reader's directory (never a download).
      const [, , script, ...rest] = words(line);
      const r = await run(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, script!), ...rest], { cwd, timeoutMs: 120_000 });
      assert.equal(r.code, 0, `\`${line}\` failed:\n${r.stderr}`);
    } else {
      assert.fail(`the README walkthrough has a command this test does not know: \`${line}\` — teach test/cli/walkthrough.test.ts to run it`);
    }
  }
  assert.ok(noted.janePassword, 'users create printed a generated password');
  assert.ok(noted.username && noted.password, 'credentials show printed the registry username and password');
  const list = await fetch(`${s.url}/v2/acme/busybox/tags/list`, { headers: { authorization: `Basic ${Buffer.from(`${noted.username}:${noted.password}`).toString('base64')}` } });
  assert.equal(list.status, 200, await list.clone().text());
  assert.deepEqual(((await list.json()) as { tags: string[] }).tags, ['1.36'], 'the imported image is there for Jane');
});

test('Jane\'s docker login and pull work and her push is refused, as typed', { timeout: 600_000 }, async (t: TestContext) => {
  assert.ok(noted.username && noted.password, 'the previous test noted Jane\'s credentials');
  const docker = dockerLines;
  assert.deepEqual(docker.map((l) => words(l).find((w) => ['login', 'pull', 'tag', 'push'].includes(w))), ['login', 'pull', 'tag', 'push']);
  const started = await tryStartDockerd();
  if (!started.ok) return skipOrFail(t, 'dockerd', started.reason);
  const dockerd = started.dockerd;
  try {
    // The reader's shell: `docker` is the engine's client, USERNAME and PASSWORD are what credentials show printed.
    const bin = join(cwd, 'bin');
    mkdirSync(bin);
    symlinkSync(dockerd.client, join(bin, 'docker'));
    const shell = (line: string): Promise<RunResult> => run('bash', ['-c', here(line)], {
      cwd, timeoutMs: 180_000,
      env: { ...dockerd.env, PATH: `${bin}:${process.env.PATH ?? ''}`, USERNAME: noted.username, PASSWORD: noted.password },
    });
    const [login, pull, tag, push] = docker;
    const l = await shell(login!);
    assert.equal(l.code, 0, `\`${login}\`: ${l.stderr}`);
    const p = await shell(pull!);
    assert.equal(p.code, 0, `\`${pull}\`: ${p.stderr}`);
    const tg = await shell(tag!);
    assert.equal(tg.code, 0, `\`${tag}\`: ${tg.stderr}`);
    // The push reaches the registry (the image exists locally), which refuses it.
    const pushed = await shell(push!);
    assert.notEqual(pushed.code, 0, `\`${push}\` must be refused:\n${pushed.stdout}`);
    assert.match(pushed.stderr + pushed.stdout, /denied|unauthorized|read-only/i);
  } finally {
    await dockerd.stop();
  }
});
