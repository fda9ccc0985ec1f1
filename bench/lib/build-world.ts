// The build benchmark's world: the accounts and people it acts as, the imported base image, and the repository every
// lane builds (a small shell web app with one generated asset).

import { join } from 'node:path';
import { makeBusyboxImage } from '../../test/harness/busybox.ts';
import { removeTree, runOk } from '../../test/harness/tools.ts';
import { api } from './load.ts';
import { ADMIN, type BuildGridProc } from './servers.ts';

/** The developer of account bench who deploys (the CLI and skopeo act as this person). */
export const DEV = { email: 'dev@bench.local', password: 'bench-dev-password-1' };

/** An API call that must answer one of `want`; resolves to the body. */
export async function apiOk<T = any>(base: string, token: string | null, method: string, path: string, body?: unknown, want = [200, 201, 202]): Promise<T> {
  const r = await api<T>(base, token, method, path, body);
  if (!want.includes(r.status)) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Who the benchmark acts as, and the base image every lane builds FROM. */
export interface World {
  adminToken: string;
  devToken: string;
  /** The developer's BuildGrid (registry) credentials: what skopeo inspect uses. */
  devRegistry: { username: string; password: string };
  base: string;
}

/** Accounts library + bench, a developer of bench, and busybox imported (as admin, over the registry) as library/busybox:1. */
export async function setUp(bg: BuildGridProc, tmp: string): Promise<World> {
  const adminToken = (await apiOk<{ token: string }>(bg.url, null, 'POST', '/auth/login', ADMIN)).token;
  await apiOk(bg.url, adminToken, 'POST', '/accounts', { name: 'library' });
  await apiOk(bg.url, adminToken, 'POST', '/accounts', { name: 'bench' });
  await apiOk(bg.url, adminToken, 'POST', '/users', { ...DEV, account: 'bench', role: 'developer' });
  const devToken = (await apiOk<{ token: string }>(bg.url, null, 'POST', '/auth/login', DEV)).token;
  const devRegistry = await apiOk<{ username: string; password: string }>(bg.url, devToken, 'GET', '/credentials');
  const img = await makeBusyboxImage(join(tmp, 'busybox'), { seed: 'bench-build' });
  await runOk('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', `admin:${adminToken}`, `oci:${img.layoutDir}:latest`, `docker://${bg.host}/library/busybox:1`], {
    timeoutMs: 120_000,
  });
  await removeTree(join(tmp, 'busybox'));
  return { adminToken, devToken, devRegistry, base: `${bg.host}/library/busybox:1` };
}

/**
 * A small shell "web app": a Dockerfile on the imported busybox with RUN and COPY steps, a few source and config files,
 * and one generated binary asset (incompressible, so COPY, layer commit and push costs are visible). The file that
 * changes for the rebuild (src/handlers.sh) is copied late (COPY src/), after the asset and config layers.
 */
export function repoFiles(base: string, lane: number): Record<string, string> {
  return {
    Dockerfile: [
      `FROM ${base}`,
      'ARG APP_ENV=production',
      'ENV APP_HOME=/app APP_ENV=$APP_ENV PORT=8080',
      'RUN mkdir -p /app/bin /app/data /var/log/app && echo "app:x:1000:1000:app:/app:/bin/sh" >> /etc/passwd',
      'WORKDIR /app',
      'COPY assets/ /app/assets/',
      'RUN sha256sum /app/assets/* > /app/assets.sha256 && wc -c /app/assets/* > /app/assets.size',
      'COPY config/ /app/config/',
      'COPY src/ /app/src/',
      'RUN chmod 0755 /app/src/*.sh && /app/src/selftest.sh > /app/build-info.txt',
      'USER 1000',
      'EXPOSE 8080',
      'CMD ["/app/src/server.sh"]',
      '',
    ].join('\n'),
    '.dockerignore': '.git\n*.md\n',
    'README.md': `# shop (lane ${lane})\n\nA tiny shell web app used by BuildGrid's build benchmark.\n`,
    'config/app.conf': 'listen=0.0.0.0:8080\nlog_level=info\nmax_body=1048576\n',
    'config/routes.conf': '/ index\n/health health\n/items items\n/items/:id item\n',
    'src/server.sh': [
      '#!/bin/sh',
      '. /app/src/lib.sh',
      '. /app/src/handlers.sh',
      'log "starting on $PORT ($APP_ENV)"',
      'while true; do nc -l -p "$PORT" -e /app/src/serve-one.sh; done',
      '',
    ].join('\n'),
    'src/serve-one.sh': '#!/bin/sh\n. /app/src/lib.sh\n. /app/src/handlers.sh\nread -r method path _\nroute "$path"\n',
    'src/lib.sh': [
      '#!/bin/sh',
      'log() { echo "$(date -u +%FT%TZ) $*" >&2; }',
      'reply() { printf "HTTP/1.0 %s\\r\\nContent-Type: text/plain\\r\\n\\r\\n%s\\n" "$1" "$2"; }',
      '',
    ].join('\n'),
    'src/handlers.sh': [
      '#!/bin/sh',
      'route() {',
      '  case "$1" in',
      '    /) reply "200 OK" "shop v1" ;;',
      '    /health) reply "200 OK" ok ;;',
      '    /items) reply "200 OK" "$(ls /app/data)" ;;',
      '    *) reply "404 Not Found" "no such page" ;;',
      '  esac',
      '}',
      '',
    ].join('\n'),
    'src/selftest.sh': '#!/bin/sh\nset -e\n. /app/src/lib.sh\n. /app/src/handlers.sh\nroute /health | grep -q ok\necho "selftest ok $(date -u +%F)"\n',
  };
}
