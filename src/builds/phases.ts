import type { PhaseTiming } from '../metadata/types.ts';

/** Closes the open phase (if any) and opens `next` at `at`. */
export function enterPhase(phases: PhaseTiming[], next: PhaseTiming['name'] | null, at: string): PhaseTiming[] {
  const out = phases.map((p) => (p.endedAt === null ? { ...p, endedAt: at } : p));
  if (next) out.push({ name: next, startedAt: at, endedAt: null });
  return out;
}
