import { appendFile, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../core/errors.ts';

/** One stored log line: `n` counts from 1 per build; `phase` marks lines that open a phase. */
export interface LogLine { n: number; t: string; text: string; phase?: string }

/** Options of one append: `batch` names it, so that the same batch sent again (a retry) is stored once. */
export interface AppendOptions { batch?: string }

/** A stored line as the store keeps it: the first line of a named batch carries the batch's name. */
export type StoredLine = LogLine & { b?: string };

/**
 * Append-only build logs. Lines are numbered in order; once a build's log reaches `maxBytes`, one truncation mark is
 * written and later lines are dropped (counted, so the mark can say how many).
 */
export interface LogStore {
  /**
   * Appends lines and resolves to them as stored (empty when the log is already truncated). With `batch`, a batch
   * equal to the last one appended to this build's log is not stored again (resolves to []): a writer that retries
   * after a lost answer (a remote worker) does not duplicate lines, even when the retry reaches another node.
   */
  append(buildId: string, lines: Array<{ text: string; phase?: string }>, opts?: AppendOptions): Promise<LogLine[]>;
  /** Lines with n > afterLine, at most `limit`. Unknown builds have no lines. */
  read(buildId: string, afterLine: number, limit: number): Promise<LogLine[]>;
  delete(buildId: string): Promise<void>;
}

/** Running totals of one build's log, as numberLines needs them. */
export interface LogTotals { count: number; bytes: number; truncated: boolean }

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** Longest stored line (characters); longer ones are cut with a mark. */
const MAX_LINE = 8192;

/** Throws AppError INVALID unless `id` is a build id safe to use as a file name or object key. */
export function checkLogId(id: string): void {
  if (!ID_RE.test(id)) throw new AppError('INVALID', `invalid build id ${id.slice(0, 40)}`);
}

/** The totals of a log from its stored lines (after a restart). */
export function totalsOf(lines: LogLine[]): LogTotals {
  return {
    count: lines.length,
    bytes: lines.reduce((a, l) => a + l.text.length, 0),
    truncated: lines.some((l) => l.phase === 'truncated'),
  };
}

/**
 * Numbers `lines` after `totals` at time `t`, cutting over-long lines and applying the `maxBytes` cap (one
 * truncation mark, then nothing). Resolves to the lines to store and the totals after them; `totals` is not changed.
 */
export function numberLines(totals: LogTotals, lines: Array<{ text: string; phase?: string }>, maxBytes: number, t: string): { out: LogLine[]; totals: LogTotals } {
  const next: LogTotals = { count: totals.count, bytes: totals.bytes, truncated: totals.truncated };
  const out: LogLine[] = [];
  if (next.truncated) return { out, totals: next };
  for (const l of lines) {
    const text = l.text.length > MAX_LINE ? `${l.text.slice(0, MAX_LINE)} …[line cut]` : l.text;
    if (next.bytes + text.length > maxBytes) {
      out.push({ n: ++next.count, t, text: `[log truncated: it reached ${maxBytes} bytes; later output is not stored]`, phase: 'truncated' });
      next.truncated = true;
      break;
    }
    next.bytes += text.length;
    out.push({ n: ++next.count, t, text, ...(l.phase ? { phase: l.phase } : {}) });
  }
  return { out, totals: next };
}

/** Parses JSON-lines log text. */
export function parseLogLines(text: string): StoredLine[] {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as StoredLine);
}

/** The name of the last named batch among `lines` (null when none). */
export function lastBatchOf(lines: StoredLine[]): string | null {
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i]!.b) return lines[i]!.b!;
  return null;
}

/** The lines as readers see them (without the batch names). */
export function publicLines(lines: StoredLine[]): LogLine[] {
  return lines.map((l) => (l.b === undefined ? l : (({ b: _b, ...rest }) => rest)(l)));
}

/** `out` with the first line naming `batch` (when given), as it is written. */
export function namedBatch(out: LogLine[], batch: string | undefined): StoredLine[] {
  return batch && out.length ? [{ ...out[0]!, b: batch }, ...out.slice(1)] : out;
}

interface State extends LogTotals { chain: Promise<unknown>; lastBatch: string | null }

/** A LogStore writing one JSON-lines file per build under `<root>/logs/`. */
export function createFsLogStore(opts: { root: string; maxBytes?: number; now?: () => Date }): LogStore {
  const dir = join(opts.root, 'logs');
  const maxBytes = opts.maxBytes ?? 8 * 1024 * 1024;
  const now = opts.now ?? (() => new Date());
  const states = new Map<string, State>();

  const fileOf = (id: string) => {
    checkLogId(id);
    return join(dir, `${id}.jsonl`);
  };

  async function load(id: string): Promise<StoredLine[]> {
    try {
      return parseLogLines(await readFile(fileOf(id), 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  async function stateOf(id: string): Promise<State> {
    let s = states.get(id);
    if (!s) {
      const lines = await load(id);
      s = { ...totalsOf(lines), chain: Promise.resolve(), lastBatch: lastBatchOf(lines) };
      if (states.size > 1000) states.delete(states.keys().next().value as string);
      states.set(id, s);
    }
    return s;
  }

  return {
    async append(id, lines, o = {}) {
      const file = fileOf(id);
      const s = await stateOf(id);
      const run = s.chain.then(async () => {
        if (o.batch && s.lastBatch === o.batch) return [];
        const { out, totals } = numberLines(s, lines, maxBytes, now().toISOString());
        Object.assign(s, totals);
        if (out.length) {
          await mkdir(dir, { recursive: true });
          await appendFile(file, namedBatch(out, o.batch).map((l) => `${JSON.stringify(l)}\n`).join(''));
          if (o.batch) s.lastBatch = o.batch;
        }
        return out;
      });
      s.chain = run.catch(() => undefined);
      return run;
    },
    async read(id, afterLine, limit) {
      fileOf(id);
      const s = states.get(id);
      if (s) await s.chain;
      const lines = await load(id);
      return publicLines(lines.filter((l) => l.n > afterLine).slice(0, limit));
    },
    async delete(id) {
      states.delete(id);
      await rm(fileOf(id), { force: true });
    },
  };
}
