// CPU caps for benchmarked processes: a process (and the children it starts later) limited to a number of cores
// through a cgroup CPU quota, so that on one small machine each server node can stand in for a machine of its own.

import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A cap in force: `how` describes it; release() removes the cgroup (after the process has exited). */
export interface CpuCap { how: string; release(): void }

const PERIOD_US = 100_000;

/**
 * Limits `pid` to `cores` CPUs (e.g. 0.5) in a new cgroup named `name`: cgroup v1's cpu controller
 * (/sys/fs/cgroup/cpu) or cgroup v2 (cpu.max). Resolves to null when neither can be used here (not root, no cpu
 * controller, a read-only cgroupfs); the caller then runs uncapped and says so.
 */
export function capCpu(pid: number, cores: number, name: string): CpuCap | null {
  const quota = Math.max(1000, Math.round(cores * PERIOD_US));
  const attempts: Array<{ root: string; setup(dir: string): void; how: string }> = [
    {
      root: '/sys/fs/cgroup/cpu', how: `cgroup v1 cpu quota ${quota}/${PERIOD_US} µs`,
      setup(dir) {
        writeFileSync(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
        writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota));
      },
    },
    {
      root: '/sys/fs/cgroup', how: `cgroup v2 cpu.max ${quota} ${PERIOD_US}`,
      setup(dir) {
        writeFileSync(join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
      },
    },
  ];
  for (const a of attempts) {
    if (!existsSync(a.root)) continue;
    const dir = join(a.root, name);
    try {
      if (!existsSync(dir)) mkdirSync(dir);
      a.setup(dir);
      writeFileSync(join(dir, 'cgroup.procs'), String(pid));
      if (!readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').includes(String(pid))) throw new Error('not moved');
      return {
        how: a.how,
        release() {
          try {
            rmdirSync(dir);
          } catch {
            /* still has members, or gone */
          }
        },
      };
    } catch {
      try {
        rmdirSync(dir);
      } catch {
        /* nothing made */
      }
    }
  }
  return null;
}
