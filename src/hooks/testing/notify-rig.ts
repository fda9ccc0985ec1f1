import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openSqlite } from '../../metadata/sqlite.ts';
import type { Account, Application, Metadata } from '../../metadata/types.ts';
import { createEventBus, type EventBus } from '../../events/bus.ts';
import { createNetGuard, type PrivateNetworks } from '../../core/netguard.ts';
import { createDispatcher, type Dispatcher } from '../dispatcher.ts';
import { createNotifications, type Notifications } from '../notifications.ts';

/**
 * Test support for the notification sender: loopback receivers and a rig of a real SQLite store, event bus,
 * dispatcher and endpoint management. Receivers live on loopback, which the sender refuses unless the rig is told
 * `allowPrivateNetworks`; each test says so itself.
 */

export interface Received { headers: IncomingMessage['headers']; body: string }
export interface TestReceiver { url: string; got: Received[]; port: number; close(): Promise<void> }

/** A receiver on 127.0.0.1 (or `host`); `answer` picks the status of each request. */
export async function receiver(answer: (n: number, r: Received) => number, port = 0): Promise<TestReceiver> {
  return rawReceiver((req, res, got) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const r = { headers: req.headers, body };
      got.push(r);
      res.writeHead(answer(got.length, r), { 'content-type': 'text/plain' }).end('thanks');
    });
  }, { port });
}

/** A receiver whose handler does what it likes with the response; `got` records each request's headers as it arrives. */
export async function rawReceiver(handle: (req: IncomingMessage, res: ServerResponse, got: Received[]) => void, opts: { port?: number; host?: string } = {}): Promise<TestReceiver> {
  const got: Received[] = [];
  const server: Server = createServer((req, res) => handle(req, res, got));
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, host, resolve));
  const p = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${p}/hook`, got, port: p,
    close: () => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

export interface Rig { m: Metadata; bus: EventBus; d: Dispatcher; n: Notifications; account: Account; app: Application }

export interface RigOptions { maxAttempts?: number; backoffMs?: number; timeoutMs?: number; allowPrivateNetworks?: PrivateNetworks }

/** Opens (or reopens) the store at `path`, starts a dispatcher over it and creates account acme with app shop unless `existing`. */
export async function rig(path: string, key: Uint8Array, opts: RigOptions = {}, existing?: { account: Account; app: Application }): Promise<Rig> {
  const m = await openSqlite({ path });
  const bus = createEventBus({ metadata: m });
  const guard = createNetGuard({ allow: opts.allowPrivateNetworks ?? false });
  const d = createDispatcher({
    metadata: m, events: bus, secretKey: key, guard, maxAttempts: opts.maxAttempts ?? 5, backoffMs: opts.backoffMs ?? 50, maxBackoffMs: 1000,
    timeoutMs: opts.timeoutMs ?? 2000, idleMs: 100,
  });
  const n = createNotifications({ metadata: m, secretKey: key, guard, maxAttempts: opts.maxAttempts ?? 5, onQueued: () => d.kick() });
  let account = existing?.account;
  let app = existing?.app;
  if (!account || !app) {
    account = await m.accounts.create({ name: 'Acme', namespace: 'acme' });
    app = await m.applications.create({ accountId: account.id, name: 'Shop', slug: 'shop', env: {} });
  }
  d.start();
  return { m, bus, d, n, account, app };
}

/** Polls `fn` until it returns something truthy; throws after `ms`. */
export async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Records a build event of the rig's app on its bus (which the dispatcher turns into deliveries). */
export const buildEvent = (r: Rig, kind: 'build.succeeded' | 'build.queued') =>
  r.bus.record({ kind, accountId: r.account.id, applicationId: r.app.id, buildId: 'b1', payload: { id: 'b1', status: kind.slice(6), image: 'h/acme/shop.web:abc' } });
