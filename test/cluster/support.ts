import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/buildgrid.mjs', import.meta.url));

/**
 * A TCP load balancer in front of the nodes (the cluster's one address): connections go round-robin to the
 * backends, skipping ones that refuse (a killed node), as a Kubernetes Service would after its readiness probe fails.
 */
export async function startBalancer(backends: number[]): Promise<{ port: number; close(): Promise<void> }> {
  let next = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.pause();
    const attempt = (tries: number) => {
      const port = backends[next++ % backends.length]!;
      const up = connect({ port, host: '127.0.0.1' });
      up.once('error', () => {
        if (tries + 1 < backends.length * 2) attempt(tries + 1);
        else client.destroy();
      });
      up.once('connect', () => {
        up.removeAllListeners('error');
        sockets.add(up);
        up.on('close', () => { sockets.delete(up); client.destroy(); });
        up.on('error', () => client.destroy());
        client.on('error', () => up.destroy());
        client.on('close', () => up.destroy());
        client.pipe(up);
        up.pipe(client);
        client.resume();
      });
    };
    attempt(0);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

/** A child process of the test (a node or a worker) with its stderr kept for failure messages. */
export interface Proc { child: ChildProcess; output(): string; kill(): Promise<void> }

export function spawnBuildgrid(args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => { out = (out + d.toString()).slice(-20_000); };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return {
    child,
    output: () => out,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    },
  };
}

/** Waits for /readyz of a node. */
export async function waitReady(port: number, proc: Proc): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if (proc.child.exitCode !== null) throw new Error(`node exited: ${proc.output()}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`node on ${port} did not become ready: ${proc.output()}`);
}

/** Reads an SSE response until `end` (or the stream closes), collecting events. */
export async function readSse(res: Response): Promise<Array<{ event: string; data: any }>> {
  const events: Array<{ event: string; data: any }> = [];
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data += line.slice(5).trim();
      }
      if (!data) continue;
      events.push({ event, data: JSON.parse(data) });
      if (event === 'end') return events;
    }
  }
  return events;
}
