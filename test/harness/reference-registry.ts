// Starts Debian's `docker-registry` (CNCF distribution 2.8, /usr/bin/docker-registry) on a free loopback port — the
// reference registry that benchmarks compare BuildGrid against, and a plain push target for skopeo in tests.
//
// auth modes:
//   'none'     — anonymous read/write.
//   'htpasswd' — HTTP Basic; bcrypt entry made with the system libxcrypt via `perl -e crypt(...)` (no `htpasswd`
//                binary and no node bcrypt package here). Cost 5 by default: distribution re-checks bcrypt on EVERY
//                request, so the cost directly shows up in benchmark latency (cost 10 ≈ +50 ms per request).
//   'token'    — Docker token auth: an in-process token server (node:http, ES256 JWTs, cert made with `openssl`) that
//                gives the configured user every action it asks for; anonymous callers get pull only if
//                `anonymousPull` is set. The token server stops with the registry.

import { createHash, createPrivateKey, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { freePort, removeTree, runOk, startDaemon, tempDir, waitFor, which, type Daemon } from './tools.ts';

export type RegistryAuth = 'none' | 'htpasswd' | 'token';

export interface ReferenceRegistryOptions {
  auth?: RegistryAuth;
  /** Credentials for 'htpasswd' / 'token'. Default 'bench' / random. */
  username?: string;
  password?: string;
  /** bcrypt cost for 'htpasswd'. Default 5 (Debian `htpasswd -B` default). */
  bcryptCost?: number;
  /** 'token' only: anonymous clients get pull access. Default false. */
  anonymousPull?: boolean;
  /** registry log level. Default 'warn'. */
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
  /** Write an access log line per request. Default false (it costs CPU in benchmarks). */
  accessLog?: boolean;
  /** ms to wait for `/v2/` to answer. Default 20 000. */
  startTimeoutMs?: number;
  /** Binary to run. Default `docker-registry` from PATH (Debian), else `registry`. */
  binary?: string;
}

export interface ReferenceRegistry {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** e.g. 127.0.0.1:41234 (what goes in image references: `${host}/library/busybox:1`). */
  host: string;
  port: number;
  auth: RegistryAuth;
  /** Set for 'htpasswd' and 'token'. */
  username?: string;
  password?: string;
  /** 'token' only: the realm URL of the token server. */
  tokenRealm?: string;
  /** 'token' only: the service name the registry expects in tokens. */
  tokenService?: string;
  /** Filesystem storage root (blobs + repositories). */
  storageDir: string;
  configFile: string;
  logFile: string;
  pid: number;
  /** Last bytes of the registry log. */
  logTail(bytes?: number): Promise<string>;
  /** Stops the registry (and token server), waits for exit, removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** True if a distribution registry binary is installed. */
export function referenceRegistryAvailable(): boolean {
  return which('docker-registry') !== null || which('registry') !== null;
}

/**
 * Starts a fresh, empty distribution 2.8 registry on 127.0.0.1:<free port> (filesystem storage in a new temp dir,
 * deletes enabled) and waits until `GET /v2/` answers (200, or 401 with auth).
 * Contract: the caller must call stop(); it kills the process and removes every file created. Retries a few times if
 * the chosen port was grabbed meanwhile. Rejects (with the registry log) if it does not come up.
 */
export async function startReferenceRegistry(opts: ReferenceRegistryOptions = {}): Promise<ReferenceRegistry> {
  const binary = opts.binary ?? which('docker-registry') ?? which('registry');
  if (!binary) throw new Error('docker-registry not installed (Debian package docker-registry)');
  const auth = opts.auth ?? 'none';
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const tmp = await tempDir('bgreg-');
    let tokenServer: TokenServer | undefined;
    let daemon: Daemon | undefined;
    try {
      const port = await freePort();
      const storageDir = join(tmp.path, 'storage');
      await mkdir(storageDir);
      const username = auth === 'none' ? undefined : (opts.username ?? 'bench');
      const password = auth === 'none' ? undefined : (opts.password ?? randomBytes(9).toString('base64url'));
      const config: Record<string, unknown> = {
        version: '0.1',
        log: { level: opts.logLevel ?? 'warn', formatter: 'text', accesslog: { disabled: !opts.accessLog } },
        storage: {
          filesystem: { rootdirectory: storageDir },
          delete: { enabled: true },
          cache: { blobdescriptor: 'inmemory' },
          maintenance: { uploadpurging: { enabled: false } },
        },
        http: {
          addr: `127.0.0.1:${port}`,
          secret: randomBytes(16).toString('hex'),
          headers: { 'X-Content-Type-Options': ['nosniff'] },
        },
        health: { storagedriver: { enabled: false } },
      };
      let tokenRealm: string | undefined;
      const tokenService = auth === 'token' ? 'reference-registry' : undefined;
      if (auth === 'htpasswd') {
        const htpasswd = join(tmp.path, 'htpasswd');
        await writeFile(htpasswd, `${username}:${await bcryptHash(password!, opts.bcryptCost ?? 5)}\n`);
        config.auth = { htpasswd: { realm: 'reference-registry', path: htpasswd } };
      } else if (auth === 'token') {
        tokenServer = await startTokenServer(tmp.path, {
          username: username!,
          password: password!,
          service: tokenService!,
          anonymousPull: opts.anonymousPull ?? false,
        });
        tokenRealm = tokenServer.realm;
        config.auth = {
          token: { realm: tokenRealm, service: tokenService, issuer: tokenServer.issuer, rootcertbundle: tokenServer.certFile },
        };
      }
      const configFile = join(tmp.path, 'config.yml');
      await writeFile(configFile, JSON.stringify(config, null, 2)); // YAML is a superset of JSON
      const logFile = join(tmp.path, 'registry.log');
      // REGISTRY_* variables override config.yml in distribution; make sure none leak in from the environment.
      const env: Record<string, string | undefined> = {};
      for (const k of Object.keys(process.env)) if (k.startsWith('REGISTRY_')) env[k] = undefined;
      daemon = await startDaemon(binary, ['serve', configFile], { logFile, env });
      const d = daemon;
      const url = `http://127.0.0.1:${port}`;
      await waitFor(
        async () => {
          if (!d.running()) throw new Error('registry exited');
          const r = await fetch(`${url}/v2/`);
          await r.arrayBuffer();
          return r.status === 200 || r.status === 401;
        },
        {
          timeoutMs: opts.startTimeoutMs ?? 20_000,
          intervalMs: 50,
          what: `docker-registry on ${url}`,
          describe: async () => `--- registry log ---\n${await d.logTail()}`,
        },
      );
      let stopping: Promise<void> | undefined;
      return {
        url,
        host: `127.0.0.1:${port}`,
        port,
        auth,
        username,
        password,
        tokenRealm,
        tokenService,
        storageDir,
        configFile,
        logFile,
        pid: d.pid,
        logTail: (b) => d.logTail(b),
        stop: () => {
          stopping ??= (async () => {
            await d.stop(5_000);
            await tokenServer?.close();
            await removeTree(tmp.path);
          })();
          return stopping;
        },
      };
    } catch (e) {
      lastErr = e;
      const log = daemon ? await daemon.logTail() : '';
      await daemon?.stop(2_000);
      await tokenServer?.close();
      await removeTree(tmp.path);
      if (!/address already in use/i.test(log)) throw e;
    }
  }
  throw lastErr;
}

/**
 * bcrypt hash ("$2y$<cost>$…", the form htpasswd -B writes) using the C library's crypt(3) through perl (Debian's
 * libxcrypt supports bcrypt). Rejects if perl is missing or crypt does not support bcrypt.
 */
export async function bcryptHash(password: string, cost = 5): Promise<string> {
  const alphabet = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const rnd = randomBytes(22);
  let salt = '';
  for (let i = 0; i < 21; i++) salt += alphabet[rnd[i]! % 64];
  salt += '.Oeu'[rnd[21]! % 4]; // the 22nd char only carries 2 bits
  const setting = `$2y$${String(cost).padStart(2, '0')}$${salt}`;
  const r = await runOk('perl', ['-e', 'my $l = <STDIN>; chomp $l; print crypt($l, $ARGV[0]) // ""', setting], {
    input: password + '\n',
    timeoutMs: 30_000,
  });
  if (!r.stdout.startsWith('$2y$')) throw new Error(`crypt(3) does not support bcrypt here (got ${JSON.stringify(r.stdout)})`);
  return r.stdout;
}

interface TokenServer {
  realm: string;
  issuer: string;
  certFile: string;
  close(): Promise<void>;
}

/**
 * Minimal Docker token server (https://distribution.github.io/distribution/spec/auth/token/): GET /token with optional
 * Basic auth, and POST /token (OAuth2 password / refresh_token grants, used by `docker login`). Tokens are ES256 JWTs
 * whose `kid` is the libtrust key ID of the certificate put in the registry's rootcertbundle.
 */
async function startTokenServer(
  dir: string,
  o: { username: string; password: string; service: string; anonymousPull: boolean },
): Promise<TokenServer> {
  const keyFile = join(dir, 'token.key');
  const certFile = join(dir, 'token.crt');
  await runOk('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=buildgrid-test-token-issuer',
  ], { timeoutMs: 30_000 });
  const key = createPrivateKey(await readFile(keyFile));
  const cert = new X509Certificate(await readFile(certFile));
  const kid = libtrustKeyId(cert.publicKey);
  const issuer = 'buildgrid-test-token-issuer';
  const refreshTokens = new Set<string>();

  const issue = (subject: string, scopes: string[], anonymous: boolean): string => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.flatMap((s) => parseScope(s)).map((a) => ({
      ...a,
      actions: anonymous ? a.actions.filter((x) => x === 'pull') : a.actions.flatMap((x) => (x === '*' ? ['pull', 'push', 'delete', '*'] : [x])),
    }));
    const claims = { iss: issuer, sub: subject, aud: o.service, exp: now + 3600, nbf: now - 10, iat: now, jti: randomBytes(12).toString('hex'), access };
    const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    const signingInput = `${b64({ typ: 'JWT', alg: 'ES256', kid })}.${b64(claims)}`;
    const sig = sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' });
    return `${signingInput}.${sig.toString('base64url')}`;
  };

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname !== '/token') return void res.writeHead(404).end();
    let user: string | undefined;
    let pass: string | undefined;
    let scopes = u.searchParams.getAll('scope');
    let refresh: string | undefined;
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      scopes = form.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
      if (form.get('grant_type') === 'password') {
        user = form.get('username') ?? undefined;
        pass = form.get('password') ?? undefined;
      } else if (form.get('grant_type') === 'refresh_token') {
        refresh = form.get('refresh_token') ?? undefined;
      }
    } else {
      const h = req.headers.authorization;
      if (h?.startsWith('Basic ')) {
        const dec = Buffer.from(h.slice(6), 'base64').toString('utf8');
        const i = dec.indexOf(':');
        user = dec.slice(0, i);
        pass = dec.slice(i + 1);
      }
    }
    const authed = (user === o.username && pass === o.password) || (refresh !== undefined && refreshTokens.has(refresh));
    const attempted = user !== undefined || refresh !== undefined;
    if (!authed && (attempted || !o.anonymousPull)) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="token"' });
      return void res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
    }
    const token = issue(authed ? o.username : '', scopes, !authed);
    const body: Record<string, unknown> = { token, access_token: token, expires_in: 3600, issued_at: new Date().toISOString() };
    if (authed && req.method === 'POST') {
      const rt = randomBytes(16).toString('hex');
      refreshTokens.add(rt);
      body.refresh_token = rt;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  const server: Server = createServer((req, res) => {
    handler(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
  return {
    realm: `http://127.0.0.1:${port}/token`,
    issuer,
    certFile,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** "repository:foo/bar:pull,push" → [{type, name, actions}]; the name itself may contain ':' only for registry:catalog:*. */
function parseScope(scope: string): Array<{ type: string; name: string; actions: string[] }> {
  return scope
    .split(' ')
    .filter(Boolean)
    .map((s) => {
      const first = s.indexOf(':');
      const last = s.lastIndexOf(':');
      if (first < 0 || last === first) return undefined;
      return { type: s.slice(0, first), name: s.slice(first + 1, last), actions: s.slice(last + 1).split(',').filter(Boolean) };
    })
    .filter((x): x is { type: string; name: string; actions: string[] } => x !== undefined);
}

/** libtrust key ID: base32 of the first 240 bits of sha256(DER SubjectPublicKeyInfo), in 12 ':'-separated groups of 4. */
export function libtrustKeyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const b = createHash('sha256').update(der).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of b) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out.match(/.{4}/g)!.join(':');
}
