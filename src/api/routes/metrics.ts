import type { FastifyInstance } from 'fastify';
import { AppError } from '../../core/errors.ts';
import type { ApiDeps } from '../context.ts';

/**
 * GET /metrics on the main port: administrators only (their API token, or their dashboard session), since the
 * figures name every route, repository traffic and the process's memory. With metricsHost set the separate listener
 * serves them instead and this port answers 404. Register on a scope that runs authenticateRequest.
 */
export function registerMetricsRoute(app: FastifyInstance, deps: Pick<ApiDeps, 'metrics' | 'metricsAccess'>): void {
  // Declared admin on this port; with metricsHost set nothing is served here, to anyone (404).
  const signInHint = "GET /metrics needs an administrator's API token: send Authorization: Bearer <token> "
    + '(from `buildgrid login` as an administrator), or set metricsHost to serve metrics on a separate, private address';
  app.get('/metrics', { config: { access: deps.metricsAccess === 'elsewhere' ? 'public' : 'admin', signInHint } }, async (req, reply) => {
    if (deps.metricsAccess === 'elsewhere') {
      throw new AppError('NOT_FOUND', 'metrics are not served on this port: scrape the metrics address (metricsHost) instead');
    }
    if (!req.principal) throw new AppError('UNAUTHORIZED', signInHint);
    if (!req.principal.isAdmin) throw new AppError('DENIED', 'only administrators may read /metrics');
    const m = await deps.metrics.render();
    return reply.header('Cache-Control', 'no-store').type(m.contentType).send(m.body);
  });
}
