import type { FastifyReply, FastifyRequest } from 'fastify';

/** A Server-Sent Events stream on a hijacked reply. */
export interface SseStream {
  send(event: string, data: unknown, id?: number | string): void;
  close(): void;
  /** Resolves when the client goes away or close() is called. */
  closed: Promise<void>;
}

/** The resume point: `Last-Event-ID` header, else the `after` query parameter, else 0. */
export function resumeFrom(req: FastifyRequest): number {
  const h = req.headers['last-event-id'];
  const q = (req.query as { after?: string } | undefined)?.after;
  const v = Number(typeof h === 'string' ? h : q ?? 0);
  return Number.isSafeInteger(v) && v > 0 ? v : 0;
}

/** Starts an SSE response (keep-alive comments every 15 s). */
export function startSse(req: FastifyRequest, reply: FastifyReply): SseStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  if (req.method !== 'HEAD') res.write(': connected\n\n');
  let done = false;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  const finish = () => {
    if (done) return;
    done = true;
    clearInterval(keepAlive);
    resolveClosed();
  };
  req.raw.on('close', finish);
  res.on('close', finish);
  if (req.method === 'HEAD') {
    // A HEAD has no body (node drops the writes, so the headers would never be flushed): answer it now, stream nothing.
    res.end();
    finish();
  }
  return {
    send(event, data, id) {
      if (done) return;
      res.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    close() {
      if (!done) res.end();
      finish();
    },
    closed,
  };
}
