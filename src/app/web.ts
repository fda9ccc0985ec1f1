import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import { registerWithAccess } from '../api/server.ts';

/** Where `npm run web:build` puts the dashboard (web/dist at the repository root). */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const NOT_BUILT = [
  'BuildGrid is running, but its dashboard has not been built.',
  '',
  'Build it from the repository root with:',
  '',
  '    npm run web:build',
  '',
  '(scripts/install.sh and scripts/start.sh do this for you), then reload this page. The REST API (/api/v1),',
  'the registry (/v2) and the command line work without it.',
  '',
].join('\n');

/** Paths the dashboard never answers: the API and the registry keep their own 404s; a missing file is a 404 too. */
const notForSpa = (url: string) => /^\/(api|v2)(\/|$|\?)/.test(url) || /\/[^/?]*\.[a-z0-9]+(\?|$)/i.test(url);

/**
 * Serves the dashboard (a single-page app) at `/`: the built files of `dir`, and index.html for any other GET that
 * is not an API, registry or file path, so deep links work. Hashed assets are cached for a year, index.html never.
 * Without a build, those paths answer 503 with how to build it. Register after the API.
 */
export async function registerWeb(app: FastifyInstance, opts: { dir?: string } = {}): Promise<void> {
  const dir = opts.dir ?? DEFAULT_WEB_DIR;
  const built = existsSync(join(dir, 'index.html'));
  if (built) {
    // The dashboard's files are public (deny by default: api/route-access.ts).
    await registerWithAccess(app, 'public', fastifyStatic, {
      root: dir, prefix: '/', wildcard: false, index: ['index.html'], cacheControl: false,
      setHeaders: (res, path) => {
        res.setHeader('Cache-Control', path.includes(`${join(dir, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  }
  app.setNotFoundHandler((req: FastifyRequest, reply: FastifyReply) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || notForSpa(req.url)) {
      return reply.status(404).type('application/json').send({ error: { code: 'not_found', message: `nothing at ${req.method} ${req.url.split('?')[0]}` } });
    }
    if (!built) return reply.status(503).type('text/plain; charset=utf-8').header('Cache-Control', 'no-store').send(NOT_BUILT);
    return reply.header('Cache-Control', 'no-cache').sendFile('index.html');
  });
}
