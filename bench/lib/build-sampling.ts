// Sampling for the build benchmark: a build cannot be re-run cold, so each sample waits for a quiet machine, then
// records the CPU our processes used (split into the BuildGrid server, its git + buildah children and the rest) and
// the CPU other processes used meanwhile — kept and reported, never retried.

import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { cpuTimes, ourJiffiesParts } from './sampling.ts';

const TICK_MS = 10; // USER_HZ = 100 on Linux (getconf CLK_TCK)

/** CPU ms of one process: its own (utime+stime) and its reaped children's (cutime+cstime). */
function procCpu(pid: number): { self: number; children: number } {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return { self: (Number(f[11]) + Number(f[12])) * TICK_MS, children: (Number(f[13]) + Number(f[14])) * TICK_MS };
  } catch {
    return { self: NaN, children: NaN };
  }
}

/** The BuildGrid server's pid, once started: samples split their CPU time into server / its children / the rest. */
let serverPid = 0;

/** Tells the sampler which process is the BuildGrid server. */
export function setServerPid(pid: number): void {
  serverPid = pid;
}

/** What the samples saw of the machine: waits, busy starts and the CPU other processes used. */
export const noise = { samples: 0, waitedMs: 0, maxWaitMs: 2000, busyStreak: 0, startedBusy: 0, worstForeign: 0, foreign: [] as number[] };

/** Waits (≤ maxWaitMs) until the CPUs were ≥ 85% idle for 250 ms. */
async function waitQuiet(): Promise<void> {
  if (noise.maxWaitMs <= 0) return;
  const t0 = Date.now();
  for (;;) {
    const a = cpuTimes();
    await new Promise((r) => setTimeout(r, 250));
    const b = cpuTimes();
    if ((b.busy - a.busy) / Math.max(1, b.total - a.total) <= 0.15) {
      noise.busyStreak = 0;
      break;
    }
    if (Date.now() - t0 > noise.maxWaitMs) {
      noise.startedBusy++;
      // A machine that stays busy does not get quieter by waiting: after 4 busy starts in a row, wait less.
      if (++noise.busyStreak >= 4) noise.maxWaitMs = Math.min(noise.maxWaitMs, 500);
      break;
    }
  }
  noise.waitedMs += Date.now() - t0;
}

/**
 * Runs one timed sample after the quiet wait. Returns its result, the CPU time our processes used (ms, user+system of
 * this driver's process tree, kernel threads not included) and the "foreign" CPU (cores used by other processes while
 * it ran). A build cannot be re-run cold, so disturbed samples are kept and reported, not retried.
 */
export async function sample<T>(fn: () => Promise<T>): Promise<{ r: T; cpuMs: number; cpuParts: Array<[string, number]>; foreign: number }> {
  await waitQuiet();
  const a = cpuTimes();
  const ourA = ourJiffiesParts();
  const srvA = procCpu(serverPid);
  const r = await fn();
  const b = cpuTimes();
  const ourB = ourJiffiesParts();
  const srvB = procCpu(serverPid);
  const elapsedPerCpu = (b.total - a.total) / cpus().length;
  const ours = ourB.tree - ourA.tree + (ourB.kernel - ourA.kernel);
  const foreign = Math.max(0, (b.busy - a.busy - ours) / Math.max(1, elapsedPerCpu));
  noise.samples++;
  noise.foreign.push(foreign);
  noise.worstForeign = Math.max(noise.worstForeign, foreign);
  const cpuMs = (ourB.tree - ourA.tree) * TICK_MS;
  const server = srvB.self - srvA.self;
  const serverKids = srvB.children - srvA.children;
  const cpuParts: Array<[string, number]> = [['server', server], ["server's git + buildah", serverKids], ['others', cpuMs - server - serverKids]];
  return { r, cpuMs, cpuParts, foreign };
}
