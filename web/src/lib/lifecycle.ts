import type { EffectivePolicy, ImageDecision, LifecycleRun, RetentionPolicy, TrashEntry } from '../api/types';
import { bytes } from './time';

/** Words for the lifecycle: why an image went, what a policy keeps, what a run did. */

/** "removed by retention", "removed by fsck (broken)", … */
export function removalLabel(reason: string): string {
  if (reason === 'retention') return 'removed by retention';
  if (reason === 'fsck') return 'removed by fsck (broken)';
  if (reason === 'manual') return 'removed by hand';
  return `removed (${reason})`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** What a policy keeps, as one sentence ("Keeps the last 5 images of each branch, …"). */
export function policySummary(p: RetentionPolicy | EffectivePolicy): string {
  const keeps: string[] = [];
  if (p.keepLastPerBranch !== null) keeps.push(`the last ${plural(p.keepLastPerBranch, 'image')} of each branch`);
  if (p.keepNewerThanDays !== null) keeps.push(`images built within ${plural(p.keepNewerThanDays, 'day')}`);
  if (p.keepPulledWithinDays > 0) keeps.push(`images pulled within ${plural(p.keepPulledWithinDays, 'day')}`);
  keeps.push('deployed images');
  const last = keeps.pop();
  return `Keeps ${keeps.join(', ')} and ${last}. Removed images stay restorable for ${plural(p.graceDays, 'day')}.`;
}

/** A decision's image for people: its first reference, else repository@digest. */
export function imageName(d: Pick<ImageDecision, 'images' | 'repository' | 'digest'>): string {
  return d.images[0] ?? `${d.repository}@${d.digest.slice(0, 19)}…`;
}

/** The removals of one retention run (or one fsck repair), for the timeline. */
export interface RemovalGroup { key: string; at: string; reason: string; removedBy: string; entries: TrashEntry[]; bytes: number }

/**
 * Trash entries grouped into the runs that removed them, newest first. A run removes its images one transaction
 * each, so entries by the same requester for the same reason within a minute of the run's first are one run.
 */
export function groupRemovals(entries: TrashEntry[]): RemovalGroup[] {
  const sorted = [...entries].sort((a, b) => a.removedAt.localeCompare(b.removedAt));
  const groups: RemovalGroup[] = [];
  for (const e of sorted) {
    const g = groups.at(-1);
    if (g && g.reason === e.reason && g.removedBy === e.removedBy && Date.parse(e.removedAt) - Date.parse(g.entries[0]!.removedAt) < 60_000) {
      g.entries.push(e);
      g.bytes += e.bytes;
      g.at = e.removedAt;
    } else {
      groups.push({ key: e.id, at: e.removedAt, reason: e.reason, removedBy: e.removedBy, entries: [e], bytes: e.bytes });
    }
  }
  return groups.reverse();
}

const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
const field = (o: unknown, k: string): unknown => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined);

/** Bytes a garbage collection freed (or, dry, would free); null for other runs and unfinished ones. */
export const runBytesFreed = (r: Pick<LifecycleRun, 'summary'>): number | null => num(field(field(r.summary, 'gc'), 'bytesFreed'));

/** One line on what a finished run did ("freed 1.2 MB (14 blobs); retention removed 3 images"). */
export function runOutcome(r: Pick<LifecycleRun, 'kind' | 'status' | 'summary' | 'error' | 'dryRun'>): string {
  if (r.status === 'running') return 'running…';
  if (r.status === 'failed') return r.error ?? 'failed';
  const parts: string[] = [];
  const gc = field(r.summary, 'gc');
  if (gc) parts.push(`${r.dryRun ? 'would free' : 'freed'} ${bytes(num(field(gc, 'bytesFreed')))} (${plural(num(field(gc, 'blobsDeleted')) ?? 0, 'blob')})`);
  const ret = field(r.summary, 'retention');
  if (ret) parts.push(`retention ${r.dryRun ? 'would remove' : 'removed'} ${plural(num(field(ret, 'removed')) ?? 0, 'image')}`);
  if (r.kind === 'fsck') {
    const problems = num(field(r.summary, 'problems')) ?? 0;
    parts.push(field(r.summary, 'healthy') === true ? 'healthy' : `${plural(problems, 'problem')} found`);
  }
  return parts.join('; ') || 'done';
}
