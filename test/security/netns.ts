// Listeners at non-loopback addresses for the sandbox tests, without sending a packet off this machine: a network
// namespace made by the test, joined to the host by a veth pair, holding the addresses a hostile build would try
// (a private 10.x address, a link-local 169.254.x address, and a "public" documentation address (TEST-NET-2, unused here) standing in for
// the internet). A small node server inside the namespace records which of its addresses were reached.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { run } from '../harness/tools.ts';

/** Addresses inside the namespace, all on port PORT. */
export const NS_ADDRS = { public: '198.51.100.2', private: '10.213.7.2', linkLocal: '169.254.213.2' } as const;
export const NS_PORT = 8089;

export interface Outside {
  /** Local addresses of every connection the namespace's server accepted, in order. */
  hits(): Promise<string[]>;
  stop(): Promise<void>;
}

const ip = async (...args: string[]): Promise<void> => {
  const r = await run('ip', args, { timeoutMs: 15_000 });
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
};

/** Why the namespace cannot be made here (not root, no `ip`), or null. */
export async function outsideUnavailable(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'needs root (ip netns)';
  const r = await run('ip', ['netns', 'list'], { timeoutMs: 5_000 }).catch(() => null);
  return r && r.code === 0 ? null : 'needs iproute2 (ip netns)';
}

/** Makes the namespace and starts its server. Always call stop(). */
export async function startOutside(): Promise<Outside> {
  const id = randomBytes(3).toString('hex');
  const ns = `bgt-${id}`;
  const host = `bgth${id}`;
  const peer = `bgtp${id}`;
  let server: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    server?.kill('SIGKILL');
    await run('ip', ['link', 'del', host], { timeoutMs: 10_000 }).catch(() => undefined);
    await run('ip', ['netns', 'del', ns], { timeoutMs: 10_000 }).catch(() => undefined);
  };
  try {
    await ip('netns', 'add', ns);
    await ip('link', 'add', host, 'type', 'veth', 'peer', 'name', peer);
    await ip('link', 'set', peer, 'netns', ns);
    await ip('addr', 'add', '198.51.100.1/24', 'dev', host);
    await ip('addr', 'add', '10.213.7.1/24', 'dev', host);
    await ip('addr', 'add', '169.254.213.1/24', 'dev', host);
    await ip('link', 'set', host, 'up');
    for (const a of [`${NS_ADDRS.public}/24`, `${NS_ADDRS.private}/24`, `${NS_ADDRS.linkLocal}/24`]) await ip('-n', ns, 'addr', 'add', a, 'dev', peer);
    await ip('-n', ns, 'link', 'set', peer, 'up');
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    const js = `const h=[];require('net').createServer((s)=>{h.push(s.localAddress.replace(/^::ffff:/,''));s.end('HTTP/1.0 200 OK\\r\\ncontent-length: 12\\r\\n\\r\\nreached-it!\\n');}).listen(${NS_PORT},'0.0.0.0',()=>process.stdout.write('ready\\n'));process.stdin.on('data',()=>process.stdout.write(JSON.stringify(h)+'\\n'));`;
    server = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', js], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines: string[] = [];
    const waiters: Array<(l: string) => void> = [];
    let buf = '';
    server.stdout!.on('data', (b: Buffer) => {
      buf += b.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const l = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const w = waiters.shift();
        if (w) w(l);
        else lines.push(l);
      }
    });
    const next = (): Promise<string> => (lines.length ? Promise.resolve(lines.shift()!) : new Promise((r) => waiters.push(r)));
    const ready = await Promise.race([next(), new Promise<string>((_, rej) => setTimeout(() => rej(new Error('namespace server did not start')), 10_000))]);
    if (ready !== 'ready') throw new Error(`namespace server: ${ready}`);
    return {
      async hits() {
        server!.stdin!.write('?\n');
        return JSON.parse(await next()) as string[];
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
