import type { Readable } from 'node:stream';
import { AppError } from '../core/errors.ts';
import type { BlobFile } from './types.ts';
import { getStream, type Bucket } from './s3-objects.ts';

/** An open ranged GET: the bytes from `pos` on, as they arrive. */
interface Window {
  body: Readable;
  chunks: AsyncIterator<Buffer>;
  /** Position of the next byte the window will yield. */
  pos: number;
  /** Received but not yet read. */
  rest: Buffer | null;
}

/**
 * A BlobFile over an S3 object, read with ranged GETs.
 *
 * The registry reads a blob front to back in 1 MiB chunks (registry/send.ts), and a Range request asks for one span.
 * So the first read at a position fetches exactly what it asks for (a small Range costs a small GET, and the
 * connection goes back to the pool), and a read that continues where the previous one stopped opens one GET for
 * the rest of the object, which then streams: TCP and the socket buffer are the read-ahead, and the next 1 MiB is
 * usually already here when the previous one has been written to the client. A read elsewhere drops the stream and
 * starts over at its position. A stream that breaks (the server closed an idle connection while the client was slow)
 * is reopened once at the same position. close() aborts an unfinished GET.
 */
export function s3BlobFile(b: Bucket, key: string, size: number): BlobFile {
  let win: Window | null = null;
  let closed = false;
  /** Where the previous read ended: a read starting there is sequential. */
  let lastEnd = -1;

  const drop = () => {
    win?.body.destroy();
    win = null;
  };

  async function open(pos: number, end?: number): Promise<Window> {
    const body = await getStream(b, key, { start: pos, end });
    if (!body) throw new AppError('BLOB_UNKNOWN', `blob object ${key} disappeared while it was being read`);
    return { body, chunks: body[Symbol.asyncIterator]() as AsyncIterator<Buffer>, pos, rest: null };
  }

  /** Copies up to `length` bytes from the window into buffer; fewer only when the window's GET ends. */
  async function drain(w: Window, buffer: Buffer, offset: number, length: number): Promise<number> {
    let n = 0;
    while (n < length) {
      if (!w.rest) {
        const next = await w.chunks.next();
        if (next.done) break;
        w.rest = next.value;
      }
      const take = Math.min(length - n, w.rest.length);
      w.rest.copy(buffer, offset + n, 0, take);
      w.rest = take < w.rest.length ? w.rest.subarray(take) : null;
      n += take;
      w.pos += take;
    }
    return n;
  }

  async function readOnce(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    if (!win || win.pos !== position) {
      drop();
      win = position === lastEnd ? await open(position) : await open(position, position + length - 1);
    }
    let n = await drain(win, buffer, offset, length);
    if (n < length && position + n < size) {
      // The bounded first GET ended, or a stream ended early: continue to the end of the object.
      drop();
      win = await open(position + n);
      n += await drain(win, buffer, offset + n, length - n);
    }
    return n;
  }

  return {
    size,
    async read(buffer, offset, length, position) {
      if (closed) throw new Error('read after close');
      const want = Math.min(length, size - position);
      if (want <= 0) return 0;
      let n: number;
      try {
        n = await readOnce(buffer, offset, want, position);
      } catch (err) {
        if (err instanceof AppError) throw err;
        drop(); // a broken stream: try once more from the same position
        n = await readOnce(buffer, offset, want, position);
      }
      lastEnd = position + n;
      return n;
    },
    async close() {
      closed = true;
      drop();
    },
  };
}
