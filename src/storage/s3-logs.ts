import type { S3Client } from '@aws-sdk/client-s3';
import { AppError } from '../core/errors.ts';
import { checkLogId, lastBatchOf, namedBatch, numberLines, parseLogLines, publicLines, totalsOf, type LogLine, type LogStore, type LogTotals } from './logs.ts';
import { describeBucket, type S3Settings } from './s3-client.ts';
import { s3Keys } from './s3-keys.ts';
import { deleteObject, getBuffer, listObjects, putObject, type Bucket } from './s3-objects.ts';

/** A segment is closed (a new one begins) once it holds this many bytes; an 8 MiB log is then ~32 objects. */
const SEGMENT_BYTES = 256 * 1024;

/** The open segment: its first line number, the log's byte count before it (both fixed in its key), its text. */
interface Segment { start: number; bytesBefore: number; text: string }
interface State extends LogTotals { open: Segment; chain: Promise<unknown>; lastBatch: string | null }

/**
 * Build logs in an S3 bucket, for nodes that share no disk. S3 objects cannot be appended to, so a log is a series
 * of segment objects `logs/<build>/<first line number>-<log bytes before it>.jsonl` (s3-keys.ts): each append
 * rewrites the open segment whole (at most 256 KiB; the log buffer appends every ~150 ms), and a full segment is left
 * alone from then on. A PUT is atomic, so a reader on any node sees a segment before or after an append, never half
 * of one.
 *
 * Numbering state is cached per build in this process; a build's log is appended to by one node at a time (the one
 * whose worker runs it). A store without the cache rebuilds it from one LIST and the last segment alone: the key
 * carries what came before it, and the truncation mark, when there is one, is the log's last line. Numbering, line cutting and
 * the cap are the filesystem store's (logs.ts). Throws AppError INVALID for a malformed build id, INTERNAL when the
 * bucket fails.
 */
export function createS3LogStore(opts: {
  client: S3Client; settings: Pick<S3Settings, 'bucket' | 'endpoint' | 'region'>; prefix?: string; maxBytes?: number;
  now?: () => Date; segmentBytes?: number;
}): LogStore {
  const b: Bucket = { client: opts.client, bucket: opts.settings.bucket, where: describeBucket(opts.settings) };
  const dir = s3Keys(opts.prefix).logsDir;
  const maxBytes = opts.maxBytes ?? 8 * 1024 * 1024;
  const segmentBytes = opts.segmentBytes ?? SEGMENT_BYTES;
  const now = opts.now ?? (() => new Date());
  const states = new Map<string, State>();

  const prefixOf = (id: string) => {
    checkLogId(id);
    return `${dir}${id}/`;
  };
  const keyOf = (id: string, seg: Segment) =>
    `${prefixOf(id)}${String(seg.start).padStart(10, '0')}-${String(seg.bytesBefore).padStart(10, '0')}.jsonl`;

  /** The build's segments in line order: first line, bytes before, key. */
  async function segments(id: string): Promise<{ start: number; bytesBefore: number; key: string }[]> {
    const listed = await listObjects(b, prefixOf(id));
    return listed
      .map((o) => {
        const m = /\/(\d{10})-(\d{10})\.jsonl$/.exec(o.key);
        return { start: Number(m?.[1] ?? NaN), bytesBefore: Number(m?.[2] ?? NaN), key: o.key };
      })
      .filter((g) => Number.isInteger(g.start) && Number.isInteger(g.bytesBefore))
      .sort((x, y) => x.start - y.start);
  }

  async function readSegment(key: string): Promise<string> {
    const body = await getBuffer(b, key);
    if (body === null) throw new AppError('INTERNAL', `log segment ${key} disappeared while being read`);
    return body.toString('utf8');
  }

  async function stateOf(id: string): Promise<State> {
    let s = states.get(id);
    if (!s) {
      const last = (await segments(id)).at(-1);
      const text = last ? await readSegment(last.key) : '';
      const lines = parseLogLines(text);
      const inLast = totalsOf(lines);
      const totals = {
        count: lines.at(-1)?.n ?? (last ? last.start - 1 : 0),
        bytes: (last?.bytesBefore ?? 0) + inLast.bytes,
        truncated: inLast.truncated,
      };
      const open: Segment = last && Buffer.byteLength(text) < segmentBytes
        ? { start: last.start, bytesBefore: last.bytesBefore, text }
        : { start: totals.count + 1, bytesBefore: totals.bytes, text: '' };
      s = { ...totals, open, chain: Promise.resolve(), lastBatch: lastBatchOf(lines) };
      if (states.size > 1000) states.delete(states.keys().next().value as string);
      states.set(id, s);
    }
    return s;
  }

  return {
    async append(id, lines, o = {}) {
      prefixOf(id);
      const s = await stateOf(id);
      const run = s.chain.then(async () => {
        if (o.batch && s.lastBatch === o.batch) return [];
        const { out, totals } = numberLines(s, lines, maxBytes, now().toISOString());
        if (out.length === 0) return out;
        const text = s.open.text + namedBatch(out, o.batch).map((l) => `${JSON.stringify(l)}\n`).join('');
        await putObject(b, keyOf(id, s.open), Buffer.from(text)); // on failure nothing changes
        Object.assign(s, totals);
        if (o.batch) s.lastBatch = o.batch;
        s.open = Buffer.byteLength(text) >= segmentBytes
          ? { start: totals.count + 1, bytesBefore: totals.bytes, text: '' }
          : { ...s.open, text };
        return out;
      });
      s.chain = run.catch(() => undefined);
      return run;
    },

    async read(id, afterLine, limit) {
      prefixOf(id);
      const s = states.get(id);
      if (s) await s.chain;
      if (limit <= 0) return [];
      const segs = await segments(id);
      // Skip segments that end before afterLine + 1: the first to read is the last one starting at or before it.
      let first = 0;
      for (let i = 0; i < segs.length; i++) if (segs[i]!.start <= afterLine + 1) first = i;
      const out: LogLine[] = [];
      for (const g of segs.slice(first)) {
        for (const l of publicLines(parseLogLines(await readSegment(g.key)))) if (l.n > afterLine) out.push(l);
        if (out.length >= limit) break;
      }
      return out.slice(0, limit);
    },

    async delete(id) {
      const prefix = prefixOf(id);
      states.delete(id);
      for (const o of await listObjects(b, prefix)) await deleteObject(b, o.key);
    },
  };
}
