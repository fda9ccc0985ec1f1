import { appendFile, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../core/errors.ts';

/** One stored log line: `n` counts from 1 per build; `phase` marks lines that open a phase. */
export interface LogLine { n: number; t: string; text: string; phase?: string }

/**
 * Append-only build logs. Lines are numbered in order; once a build's log reaches `maxBytes`, one truncation mark is
 * written and later lines are dropped (counted, so the mark can say how many).
 */
export interface LogStore {
  /** Appends lines and resolves to them as stored (empty when the log is already truncated). */
  append(buildId: string, lines: Array<{ text: string; phase?: string }>): Promise<LogLine[]>;
  /** Lines with n > afterLine, at most `limit`. Unknown builds have no lines. */
  read(buildId: string, afterLine: number, limit: number): Promise<LogLine[]>;
  delete(buildId: string): Promise<void>;
}

interface State { count: number; bytes: number; truncated: boolean; chain: Promise<unknown> }

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** A LogStore writing one JSON-lines file per build under `<root>/logs/`. */
export function createFsLogStore(opts: { root: string; maxBytes?: number; now?: () => Date }): LogStore {
  const dir = join(opts.root, 'logs');
  const maxBytes = opts.maxBytes ?? 8 * 1024 * 1024;
  const now = opts.now ?? (() => new Date());
  const states = new Map<string, State>();

  const fileOf = (id: string) => {
    if (!ID_RE.test(id)) throw new AppError('INVALID', `invalid build id ${id.slice(0, 40)}`);
    return join(dir, `${id}.jsonl`);
  };

  async function load(id: string): Promise<LogLine[]> {
    try {
      const text = await readFile(fileOf(id), 'utf8');
      return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as LogLine);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  async function stateOf(id: string): Promise<State> {
    let s = states.get(id);
    if (!s) {
      const lines = await load(id);
      s = {
        count: lines.length,
        bytes: lines.reduce((a, l) => a + l.text.length, 0),
        truncated: lines.some((l) => l.phase === 'truncated'),
        chain: Promise.resolve(),
      };
      if (states.size > 1000) states.delete(states.keys().next().value as string);
      states.set(id, s);
    }
    return s;
  }

  return {
    async append(id, lines) {
      const file = fileOf(id);
      const s = await stateOf(id);
      const run = s.chain.then(async () => {
        if (s.truncated) return [];
        const out: LogLine[] = [];
        const t = now().toISOString();
        for (const l of lines) {
          const text = l.text.length > 8192 ? `${l.text.slice(0, 8192)} …[line cut]` : l.text;
          if (s.bytes + text.length > maxBytes) {
            out.push({ n: ++s.count, t, text: `[log truncated: it reached ${maxBytes} bytes; later output is not stored]`, phase: 'truncated' });
            s.truncated = true;
            break;
          }
          s.bytes += text.length;
          out.push({ n: ++s.count, t, text, ...(l.phase ? { phase: l.phase } : {}) });
        }
        if (out.length) {
          await mkdir(dir, { recursive: true });
          await appendFile(file, out.map((l) => `${JSON.stringify(l)}\n`).join(''));
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
      return lines.filter((l) => l.n > afterLine).slice(0, limit);
    },
    async delete(id) {
      states.delete(id);
      await rm(fileOf(id), { force: true });
    },
  };
}
