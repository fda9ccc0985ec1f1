// Sampling on a possibly shared machine: CPU accounting from /proc (whole machine, this driver's process tree, a
// server's threads), the quiet wait and re-run rule, peak RSS, and the small formatting helpers of result tables.

import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';

/** The best sample: the largest when higher is better, else the smallest; NaN samples (failed) are ignored. */
export function best(xs: number[], better: Better): number {
  const ok = xs.filter((x) => Number.isFinite(x));
  if (!ok.length) return NaN;
  return better === 'higher' ? Math.max(...ok) : Math.min(...ok);
}


/** Peak RSS (VmHWM) of `pid` in KiB, null when unreadable. */
export function hwmKiB(pid: number): number | null {
  try {
    return readStatusKiB(pid, 'VmHWM');
  } catch {
    return null;
  }
}

/** A KiB field of /proc/<pid>/status. */
export function readStatusKiB(pid: number, field: string): number | null {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(s);
  return m ? Number(m[1]) : null;
}

/** Machine-wide CPU jiffies from /proc/stat: busy = user+nice+system (irq/softirq/steal excluded), total = all. */
export function cpuTimes(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { busy: f[0]! + f[1]! + f[2]!, total: f.reduce((x, y) => x + y, 0) };
}

/**
 * CPU jiffies (utime+stime+cutime+cstime) of this driver and every live descendant: the servers (started as our
 * children), nginx workers, BuildGrid's esbuild helper, and — once reaped, through cutime — curl, wrk and skopeo.
 * Kernel threads (children of kthreadd, e.g. ksoftirqd doing loopback network work for us) count as ours too.
 */
export function ourJiffies(): number {
  const { tree, kernel } = ourJiffiesParts();
  return tree + kernel;
}

/**
 * The two halves of ourJiffies: `tree` = this driver and its live descendants (reaped children through
 * cutime/cstime), `kernel` = kernel threads (children of kthreadd: loopback networking, overlayfs and block work done
 * for us, but also for others).
 */
export function ourJiffiesParts(): { tree: number; kernel: number } {
  const kids = new Map<number, number[]>();
  const ticks = new Map<number, number>();
  for (const ent of readdirSyncSafe('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    let st: string;
    try {
      st = readFileSync(`/proc/${ent}/stat`, 'utf8');
    } catch {
      continue;
    }
    const f = st.slice(st.lastIndexOf(')') + 2).split(' '); // f[0] = state (field 3)
    const pid = Number(ent);
    const ppid = Number(f[1]);
    ticks.set(pid, Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])); // fields 14-17
    (kids.get(ppid) ?? kids.set(ppid, []).get(ppid)!).push(pid);
  }
  const sumFrom = (roots: number[]): number => {
    let sum = 0;
    const stack = [...roots];
    while (stack.length) {
      const pid = stack.pop()!;
      sum += ticks.get(pid) ?? 0;
      stack.push(...(kids.get(pid) ?? []));
    }
    return sum;
  };
  return { tree: sumFrom([process.pid]), kernel: sumFrom(kids.get(2) ?? []) };
}

/** readdirSync, [] on error. */
export function readdirSyncSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Pids of `root` and all its live descendants. */
export function processTree(root: number): number[] {
  const kids = new Map<number, number[]>();
  for (const ent of readdirSyncSafe('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    try {
      const st = readFileSync(`/proc/${ent}/stat`, 'utf8');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      (kids.get(ppid) ?? kids.set(ppid, []).get(ppid)!).push(Number(ent));
    } catch {
      /* exited */
    }
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(kids.get(pid) ?? []));
  }
  return out;
}

/** Nanoseconds on CPU of every thread of `root` and its descendants (schedstat; threads that exited are missed). */
export function treeCpuNs(root: number): number {
  let sum = 0;
  for (const pid of processTree(root)) {
    for (const tid of readdirSyncSafe(`/proc/${pid}/task`)) {
      try {
        sum += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        /* exited */
      }
    }
  }
  return sum;
}

/**
 * Foreign load: the CPU that processes other than ours used during a sample. Each sample first waits (≤ maxWaitMs)
 * for ≥ 85% idle CPUs over 250 ms, then runs; with more than FOREIGN_LIMIT foreign cores it is re-run (at most twice)
 * and the least disturbed attempt is kept. Waiting and re-running stop once `budgetMs` of extra time is used up, so
 * a persistently busy machine cannot stretch the run past its time box.
 */
export const noise = { samples: 0, waitedMs: 0, retries: 0, disturbed: 0, maxWaitMs: 2000, budgetMs: 45_000, spentMs: 0, worstForeign: 0 };
/** Foreign cores above which a sample counts as disturbed. */
export const FOREIGN_LIMIT = 0.2;

/** Waits (bounded) for idle CPUs before a sample. */
export async function waitQuiet(): Promise<void> {
  if (noise.maxWaitMs <= 0 || noise.spentMs >= noise.budgetMs) return;
  const t0 = Date.now();
  for (;;) {
    const a = cpuTimes();
    await new Promise((r) => setTimeout(r, 250));
    const b = cpuTimes();
    if ((b.busy - a.busy) / Math.max(1, b.total - a.total) <= 0.15 || Date.now() - t0 > noise.maxWaitMs) break;
  }
  noise.waitedMs += Date.now() - t0;
  noise.spentMs += Date.now() - t0;
}

/** What one measurement returns: the value, and optionally how many operations (bytes, requests) it served. */
export interface Measured { value: number; ops?: number }
/** A kept sample: the value and the server's CPU per operation (ns), when a server pid was given. */
export interface Sample { value: number; cpuNsPerOp: number }

/** Runs one sample of `measure` with the quiet wait, the foreign-load check and re-runs described above. */
export async function sample(measure: () => Promise<Measured>, serverPid?: number): Promise<Sample> {
  let kept: (Sample & { foreign: number }) | undefined;
  for (let attempt = 0; ; attempt++) {
    await waitQuiet();
    const t0 = Date.now();
    const a = cpuTimes();
    const ourA = ourJiffies();
    const srvA = serverPid ? treeCpuNs(serverPid) : 0;
    const m = await measure();
    const srvB = serverPid ? treeCpuNs(serverPid) : 0;
    const b = cpuTimes();
    const ourB = ourJiffies();
    const elapsedPerCpu = (b.total - a.total) / cpus().length;
    const foreign = Math.max(0, (b.busy - a.busy - (ourB - ourA)) / Math.max(1, elapsedPerCpu));
    const s = { value: m.value, cpuNsPerOp: serverPid && m.ops ? (srvB - srvA) / m.ops : NaN, foreign };
    if (!kept || foreign < kept.foreign) kept = s;
    const retry = foreign > FOREIGN_LIMIT && noise.maxWaitMs > 0 && noise.spentMs < noise.budgetMs && attempt < 2;
    if (!retry) break;
    noise.retries++;
    noise.spentMs += Date.now() - t0;
  }
  noise.samples++;
  if (kept.foreign > FOREIGN_LIMIT) noise.disturbed++;
  noise.worstForeign = Math.max(noise.worstForeign, kept.foreign);
  return kept;
}

/** Resets the peak-RSS counter (VmHWM) of `pid` (Linux: write 5 to clear_refs). False when not permitted. */
export async function resetHwm(pid: number): Promise<boolean> {
  try {
    await writeFile(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Which way a metric improves. */
export type Better = 'higher' | 'lower';
/** One row of a results table: samples per column. */
export interface Row {
  metric: string;
  unit: string;
  better: Better;
  bg: number[];
  ref: number[];
  bare?: number[];
  /** Verdict against the aim, from the best values. */
  aim?: (bg: number, ref: number, bare?: number) => string;
}

/** A value for a table cell in `unit`. */
export function fmt(x: number | undefined, unit: string): string {
  if (x === undefined || !Number.isFinite(x)) return 'n/a';
  if (unit === 's') return x < 10 ? x.toFixed(2) : x.toFixed(1);
  if (unit === 'MiB') return x.toFixed(0);
  return x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1);
}

/** a / b as "1.23×". */
export const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;

/** ✅ or ❌. */
export const ok = (pass: boolean): string => (pass ? '✅' : '❌');