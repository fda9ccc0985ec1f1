// CPU profile summaries for the benchmarks' --profile modes.

import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A node of a V8 .cpuprofile. */
export interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }

/** A V8 .cpuprofile. */
export interface CpuProfile { nodes: ProfileNode[]; samples?: number[]; timeDeltas?: number[] }

/**
 * Top self-time frames of a .cpuprofile, plus self time grouped by source (npm package / node internals / src file).
 * `lastSeconds` keeps only the samples of the final seconds of the profile (the load run; skips start-up and seeding).
 * Native code (better-sqlite3, crypto, syscalls) shows up under the JS frame that called it.
 */
export function summarizeProfile(profile: CpuProfile, top = 25, lastSeconds?: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const hits = new Map<number, number>();
  if (profile.samples && profile.timeDeltas && lastSeconds !== undefined) {
    const times: number[] = [];
    let t = 0;
    for (const d of profile.timeDeltas) times.push((t += d));
    const from = t - lastSeconds * 1e6;
    profile.samples.forEach((id, i) => {
      if (times[i]! >= from) hits.set(id, (hits.get(id) ?? 0) + 1);
    });
  } else {
    for (const n of profile.nodes) if (n.hitCount) hits.set(n.id, n.hitCount);
  }
  const self = new Map<string, number>();
  const bySource = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, h] of hits) {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)') {
      idle += h;
      continue;
    }
    total += h;
    const url = f.url.replace(/^file:\/\//, '').replace(ROOT + '/', '');
    const key = `${f.functionName || '(anonymous)'}  ${url ? `${url}:${f.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + h);
    const src = !url ? f.functionName : url.startsWith('node:') ? url.replace(/^(node:internal\/[^/]+).*/, '$1') : url.includes('node_modules/') ? `npm:${/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)![1]}` : url;
    bySource.set(src, (bySource.get(src) ?? 0) + h);
  }
  const pct = (h: number) => `${((h / total) * 100).toFixed(1).padStart(5)}%`;
  const lines = [`busy samples: ${total} (idle ${idle}, ${((idle / (idle + total)) * 100).toFixed(0)}% of wall)`, '', 'top self time:'];
  for (const [k, h] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(h)}  ${k}`);
  lines.push('', 'self time by source:');
  for (const [k, h] of [...bySource].sort((a, b) => b[1] - a[1]).slice(0, 15)) lines.push(`  ${pct(h)}  ${k}`);
  return lines.join('\n');
}

