/** An error the CLI prints as "error: …" plus "hint: …" (what to do next), exiting non-zero. */
export class CliError extends Error {
  constructor(message: string, readonly hint?: string, readonly code?: string) {
    super(message);
  }
}

/** Output mode of a command. */
export interface OutputOptions { json?: boolean }

/** Prints `data` as JSON in --json mode, else runs `human`. */
export function emit(opts: OutputOptions, data: unknown, human: () => void): void {
  if (opts.json) process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  else human();
}

/** Prints rows as an aligned table. */
export function table(rows: Array<Record<string, string | number | null | undefined>>, columns: string[]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cells = rows.map((r) => columns.map((c) => String(r[c] ?? '-')));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  process.stdout.write(`${line(columns.map((c) => c.toUpperCase()))}\n`);
  for (const row of cells) process.stdout.write(`${line(row)}\n`);
}

/** Prints an error (JSON on stderr in --json mode) and sets a failing exit code. */
export function fail(err: unknown, json: boolean): void {
  const e = err instanceof CliError ? err : new CliError((err as Error)?.message ?? String(err));
  if (json) process.stderr.write(`${JSON.stringify({ error: { message: e.message, hint: e.hint ?? null, code: e.code ?? null } })}\n`);
  else process.stderr.write(`error: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : ''}`);
  process.exitCode = 1;
}

/** Reads all of stdin (for --password-stdin), trimming the trailing newline. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** A one-line progress bar on stderr (only on a TTY); returns update and done functions. */
export function progressBar(label: string, total: number): { add(n: number): void; done(): void } {
  let current = 0;
  let last = 0;
  const tty = process.stderr.isTTY;
  const draw = (final = false) => {
    const now = Date.now();
    if (!tty || (!final && now - last < 100)) return;
    last = now;
    const pct = total > 0 ? Math.min(1, current / total) : 1;
    const width = 30;
    const bar = '#'.repeat(Math.round(pct * width)).padEnd(width, '.');
    process.stderr.write(`\r${label} [${bar}] ${(pct * 100).toFixed(0).padStart(3)}% ${fmtBytes(current)}/${fmtBytes(total)}`);
  };
  return {
    add(n) { current += n; draw(); },
    done() { current = total; draw(true); if (tty) process.stderr.write('\n'); else process.stderr.write(`${label} done (${fmtBytes(total)})\n`); },
  };
}

/** 1536 → "1.5 KiB". */
export function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
