import { readdirSync, readFileSync } from 'node:fs';

/** Live processes whose command line contains `text` (from /proc), excluding this process. For "no git left behind" checks. */
export function processesMentioning(text: string): Array<{ pid: number; cmdline: string }> {
  const found: Array<{ pid: number; cmdline: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmdline: string;
    let state: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      state = readFileSync(`/proc/${entry}/stat`, 'utf8').replace(/^.*\) /, '')[0] ?? '';
    } catch {
      continue; // exited meanwhile
    }
    if (state !== 'Z' && cmdline.includes(text)) found.push({ pid: Number(entry), cmdline });
  }
  return found;
}

/** Waits up to `ms` for no process to mention `text`; resolves to the ones still there. */
export async function waitForNoProcesses(text: string, ms = 3000): Promise<Array<{ pid: number; cmdline: string }>> {
  const until = Date.now() + ms;
  for (;;) {
    const left = processesMentioning(text);
    if (left.length === 0 || Date.now() > until) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}
