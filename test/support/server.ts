import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import { startServer, type RunningServer } from '../../src/app/server.ts';
import { testBackendOverrides } from './backends.ts';
import { DEFAULT_UPSTREAMS } from '../../src/config/upstreams.ts';

/** Every default upstream (Docker Hub, ghcr.io, …) off: a test server never reaches the internet for a base image. */
const NO_UPSTREAMS = Object.fromEntries(Object.keys(DEFAULT_UPSTREAMS).map((name) => [name, false]));

/** Admin credentials of every test server. */
export const ADMIN = { email: 'admin@test.local', password: 'admin-password-123' };

/** A BuildGrid server in this process on a free port with a fresh data dir; `stop()` removes everything. */
export interface TestServer extends RunningServer {
  dataDir: string;
  /** host:port for image names. */
  host: string;
  stop(): Promise<void>;
}

/** Starts a server on 127.0.0.1:<free port>; publicUrl matches the bound address so token realms work. */
export async function startTestServer(overrides: Record<string, unknown> = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bg-test-'));
  // Bind first on port 0 to learn a free port, then restart with a matching public URL.
  const probe = await import('node:net').then((net) => new Promise<number>((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  }));
  const backends = await testBackendOverrides(); // BUILDGRID_TEST_BACKENDS=postgres,s3 (opt-in; see backends.ts)
  const config = loadConfig({
    env: {},
    overrides: {
      port: probe, host: '127.0.0.1', dataDir, publicUrl: `http://127.0.0.1:${probe}`,
      adminEmail: ADMIN.email, adminPassword: ADMIN.password, logLevel: 'silent', upstreams: NO_UPSTREAMS, ...backends.overrides, ...overrides,
    },
  });
  const origWrite = process.stderr.write.bind(process.stderr);
  const server = await startServer(config, { logger: pino({ level: 'silent' }) });
  void origWrite;
  return {
    ...server,
    dataDir,
    host: `127.0.0.1:${server.port}`,
    async stop() {
      await server.close();
      await backends.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
