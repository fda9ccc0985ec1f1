import { errorOf, requestHeaders } from './client';

/** What a live stream reports. `onEvent` may call the stop function returned by `subscribe` (e.g. on `end`). */
export interface SseHandlers {
  onEvent(event: string, data: unknown, id: string | null): void;
  /** Connected (again); `reconnect` is true after a drop. */
  onOpen?(reconnect: boolean): void;
  /** The connection dropped or was refused; it is retried with backoff unless the server refused access. */
  onError?(err: Error): void;
}

/**
 * Follows a Server-Sent Events endpoint of /api/v1 with fetch (the session cookie goes along, as with EventSource; fetch
 * also lets a refused request be told apart from a dropped one, so a revoked session stops retrying).
 * Reconnects with backoff and resumes with Last-Event-ID, so nothing is missed or repeated across drops.
 * Returns the function that stops following.
 */
export function subscribe(path: string, h: SseHandlers, opts: { lastEventId?: string } = {}): () => void {
  const ctrl = new AbortController();
  let lastId = opts.lastEventId ?? null;
  let stopped = false;
  let delay = 1000;
  let opened = false;
  const stop = () => {
    stopped = true;
    ctrl.abort();
  };

  const dispatch = (block: string) => {
    let event = 'message';
    let id: string | null = null;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'id') id = value;
      else if (field === 'data') data.push(value);
    }
    if (id !== null) lastId = id;
    if (data.length === 0) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.join('\n'));
    } catch {
      parsed = data.join('\n');
    }
    h.onEvent(event, parsed, id);
  };

  const run = async () => {
    while (!stopped) {
      try {
        const headers: Record<string, string> = { ...requestHeaders('GET'), Accept: 'text/event-stream' };
        if (lastId) headers['Last-Event-ID'] = lastId;
        const res = await fetch(path, { headers, signal: ctrl.signal, cache: 'no-store' });
        if (!res.ok || !res.body) {
          const err = await errorOf(res);
          if (res.status === 401 || res.status === 403 || res.status === 404) {
            h.onError?.(err);
            return;
          }
          throw err;
        }
        h.onOpen?.(opened);
        opened = true;
        delay = 1000;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        while (!stopped) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value.replace(/\r\n?/g, '\n');
          let cut: number;
          while (!stopped && (cut = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            dispatch(block);
          }
        }
        if (!stopped) throw new Error('the live connection closed');
      } catch (err) {
        if (stopped) return;
        h.onError?.(err instanceof Error ? err : new Error(String(err)));
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15_000);
    }
  };
  void run();
  return stop;
}
