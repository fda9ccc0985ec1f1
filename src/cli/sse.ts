import { CliError } from './output.ts';
import type { CliLogin } from './client.ts';

/** One received Server-Sent Event. */
export interface SseEvent { id?: string; event: string; data: unknown }

/**
 * Follows a Server-Sent Events endpoint of /api/v1, reconnecting with Last-Event-ID after a dropped connection, until
 * `onEvent` returns 'stop' or the server ends the stream after an `end` event.
 */
export async function followSse(login: CliLogin, path: string, onEvent: (e: SseEvent) => 'stop' | void, opts: { lastEventId?: string } = {}): Promise<void> {
  let lastId = opts.lastEventId;
  for (let attempt = 0; attempt < 30; attempt++) {
    let res: Response;
    try {
      res = await fetch(`${login.server}/api/v1${path}`, {
        headers: { Authorization: `Bearer ${login.token}`, Accept: 'text/event-stream', ...(lastId ? { 'Last-Event-ID': lastId } : {}) },
      });
    } catch {
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => '');
      let message = `server answered HTTP ${res.status}`;
      try { message = (JSON.parse(text) as { error: { message: string } }).error.message; } catch { /* keep */ }
      throw new CliError(message, res.status === 401 ? 'log in again with `buildgrid login`' : undefined);
    }
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const e: SseEvent = { event: 'message', data: null };
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const k = line.indexOf(':');
            const field = k < 0 ? line : line.slice(0, k);
            const value = k < 0 ? '' : line.slice(k + 1).replace(/^ /, '');
            if (field === 'id') e.id = value;
            else if (field === 'event') e.event = value;
            else if (field === 'data') data.push(value);
          }
          if (data.length === 0) continue;
          e.data = JSON.parse(data.join('\n'));
          if (e.id) lastId = e.id;
          if (onEvent(e) === 'stop' || e.event === 'end') return;
        }
      }
    } catch {
      // dropped connection: reconnect and resume
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new CliError('lost the connection to the server too many times', 'check the server and run the command again');
}
