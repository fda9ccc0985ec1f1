import { z } from 'zod';
import { AppParams, BuildViewSchema, DeployBody, DeployReply, LogLineSchema } from '../schemas.ts';
import { requireUser, triggerOf, type ApiDeps, type TypedApi } from '../context.ts';
import { appFor, buildFor } from '../access.ts';
import { buildView } from '../../builds/views.ts';
import type { Build } from '../../metadata/types.ts';
import { resumeFrom, startSse } from '../sse.ts';

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** Deploy, builds, rebuild, cancel, logs (JSON, raw, live). */
export function registerBuildRoutes(app: TypedApi, deps: ApiDeps): void {
  const { metadata, deployer } = deps;
  // A queued build also says where it stands in the queue and when it should start (builds/queue-estimate.ts).
  const view = async (b: Build) => ({ ...buildView(b, await metadata.services.get(b.serviceId), deps.registryHost), queue: (await deps.queue?.place(b)) ?? null });

  app.post('/accounts/:namespace/apps/:app/deploy', { config: { access: { account: 'developer' } }, schema: { params: AppParams, body: DeployBody, response: { 202: DeployReply } } }, async (req, reply) => {
    const user = requireUser(req);
    const { account, app: a } = await appFor(metadata, user, req.params.namespace, req.params.app, 'developer');
    const r = await deployer.deploy({ account, app: a, branch: req.body.branch, services: req.body.services, force: req.body.force, trigger: triggerOf(req), triggeredBy: user.email });
    return reply.status(202).send({ deployment: r.deployment, builds: await Promise.all(r.builds.map(view)) });
  });

  app.get('/accounts/:namespace/apps/:app/builds', { config: { access: { account: 'viewer' } },
    schema: { params: AppParams, querystring: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), before: z.string().optional() }), response: { 200: z.array(BuildViewSchema) } },
  }, async (req) => {
    const { app: a } = await appFor(metadata, requireUser(req), req.params.namespace, req.params.app, 'viewer');
    return Promise.all((await metadata.builds.list({ applicationId: a.id, limit: req.query.limit, before: req.query.before })).map(view));
  });

  const BuildParams = z.object({ id: z.string() });
  app.get('/builds/:id', { config: { access: { build: 'viewer' } }, schema: { params: BuildParams, response: { 200: BuildViewSchema } } }, async (req) => {
    const { build } = await buildFor(metadata, requireUser(req), req.params.id, 'viewer');
    return view(build);
  });

  app.post('/builds/:id/rebuild', { config: { access: { build: 'developer' } }, schema: { params: BuildParams, response: { 202: BuildViewSchema } } }, async (req, reply) => {
    const user = requireUser(req);
    const { build } = await buildFor(metadata, user, req.params.id, 'developer');
    return reply.status(202).send(await view(await deployer.rebuild(build, { trigger: triggerOf(req), triggeredBy: user.email })));
  });

  app.post('/builds/:id/cancel', { config: { access: { build: 'developer' } }, schema: { params: BuildParams, response: { 202: BuildViewSchema } } }, async (req, reply) => {
    const { build } = await buildFor(metadata, requireUser(req), req.params.id, 'developer');
    return reply.status(202).send(await view(await deployer.cancel(build)));
  });

  app.get('/builds/:id/log', { config: { access: { build: 'viewer' } },
    schema: { params: BuildParams, querystring: z.object({ after: z.coerce.number().int().min(0).default(0), limit: z.coerce.number().int().min(1).max(10000).default(5000) }), response: { 200: z.object({ lines: z.array(LogLineSchema), status: z.string() }) } },
  }, async (req) => {
    const { build } = await buildFor(metadata, requireUser(req), req.params.id, 'viewer');
    return { lines: await deps.logs.read(build.id, req.query.after, req.query.limit), status: build.status };
  });

  app.get('/builds/:id/log.txt', { config: { access: { build: 'viewer' } }, schema: { params: BuildParams, hide: true } }, async (req, reply) => {
    const { build } = await buildFor(metadata, requireUser(req), req.params.id, 'viewer');
    const lines = await deps.logs.read(build.id, 0, 1_000_000);
    return reply.type('text/plain; charset=utf-8').header('Content-Disposition', `attachment; filename="build-${build.id}.log"`)
      .send(lines.map((l) => (l.phase ? `\n== ${l.text}` : l.text)).join('\n') + '\n');
  });

  // Live log: stored lines after Last-Event-ID, then new lines as they arrive; ends with an `end` event.
  app.get('/builds/:id/log/stream', { config: { access: { build: 'viewer' } }, schema: { params: BuildParams, hide: true } }, async (req, reply) => {
    const { build } = await buildFor(metadata, requireUser(req), req.params.id, 'viewer');
    let sent = resumeFrom(req);
    const live: Array<{ n: number }> = [];
    let finalStatus: string | null = FINAL.has(build.status) ? build.status : null;
    let backlogDone = false;
    const stream = startSse(req, reply);
    const sendLine = (l: { n: number }) => { if (l.n > sent) { stream.send('line', l, l.n); sent = l.n; } };
    let ended = false;
    const end = async () => {
      if (ended) return;
      ended = true;
      clearInterval(poll);
      // Lines stored by another node whose notification has not arrived yet: read them before saying "end".
      (await deps.logs.read(build.id, sent, 100_000).catch(() => [])).forEach(sendLine);
      const b = await metadata.builds.get(build.id);
      stream.send('end', { status: b?.status ?? finalStatus, error: b?.error ?? null });
      stream.close();
    };
    const off = deps.events.subscribe((e) => e.buildId === build.id, (e) => {
      if (e.kind === 'build.log') {
        const lines = (e.payload as { lines: Array<{ n: number }> }).lines;
        if (backlogDone) lines.forEach(sendLine); else live.push(...lines);
      } else if (e.kind === 'build.succeeded' || e.kind === 'build.failed' || e.kind === 'build.cancelled') {
        finalStatus = e.kind.slice(6);
        if (backlogDone) void end();
      } else {
        stream.send('status', e.payload, undefined);
      }
    });
    // A remote worker's lines may be stored through another node of a cluster: besides the bus, re-read the log
    // store every second while the build runs, so a follower never depends on cross-node notifications alone.
    const poll = setInterval(() => void (async () => {
      if (!backlogDone || ended) return;
      (await deps.logs.read(build.id, sent, 5000)).forEach(sendLine);
      const b = await metadata.builds.get(build.id);
      if (b && FINAL.has(b.status)) { finalStatus = b.status; await end(); }
    })().catch(() => undefined), 1000);
    void stream.closed.then(() => { clearInterval(poll); off(); });
    for (;;) {
      const batch = await deps.logs.read(build.id, sent, 5000);
      batch.forEach(sendLine);
      if (batch.length < 5000) break;
    }
    live.forEach(sendLine);
    backlogDone = true;
    if (finalStatus) await end();
  });
}
