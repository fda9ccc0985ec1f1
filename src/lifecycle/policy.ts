import type { Digest } from '../core/digest.ts';
import type { InventoryManifest, TrashedTag } from '../metadata/types.ts';

/**
 * Retention evaluation, a pure function of facts gathered elsewhere (retention.ts), so that a dry run and the real
 * run take exactly the same decisions and the rules can be tested without a database.
 *
 * An *image* is a tagged manifest of a repository (a build's image is tagged with its commit). Untagged manifests
 * are never candidates themselves: they are the children of an index or referrers (signatures, SBOMs), and they go
 * or stay with the images that reach them. Every rule says "keep"; an image goes only when no rule keeps it:
 *
 *   last N per branch   the N newest images of each branch (images without a build form one "untracked" group)
 *   newer than D days   images produced within D days
 *   deployed            images of the running deployments and of the current and previous succeeded ones (always)
 *   pulled              images pulled within P days (always)
 *   restored            images restored from the trash within the grace window (someone wanted them back)
 *   referenced          the children of a kept index, the subject of a kept referrer, the referrers of a kept image
 */

/** The rules, with days already converted to milliseconds. */
export interface PolicyRules {
  keepLastPerBranch: number | null;
  keepNewerThanMs: number | null;
  keepPulledWithinMs: number;
  /** The grace window: an image restored within it is kept. */
  keepRestoredWithinMs: number;
}

/** What is known about one tagged manifest. */
export interface ImageFacts {
  repositoryId: string; repository: string; digest: Digest; tags: TrashedTag[];
  /** When the image was produced (latest of build finish, tag update, manifest creation), epoch ms. */
  producedAt: number;
  /** Branch of the newest build that produced it; null for images without a build (imports, pushes). */
  branch: string | null;
  buildIds: string[];
  lastPulledAt: number | null;
  /** Last time it was restored from the trash (epoch ms), or null. */
  restoredAt: number | null;
  deployed: boolean;
}

export type KeepReason =
  | `last ${number} of ${string}` | 'newer than the age limit' | 'deployed' | 'pulled recently' | 'restored recently' | 'referenced by a kept image';

export interface Decision {
  image: ImageFacts;
  keep: boolean;
  /** Why it is kept (empty for an image that goes). */
  reasons: KeepReason[];
  /** For an image that goes: the untagged manifests that go with it. */
  cascade: Digest[];
}

/**
 * Decides every image of one repository. `manifests` is the whole repository (tagged and untagged), `images` the
 * facts of its tagged manifests. Decisions are ordered: images that go come parents first (an index before a
 * tagged child of it), so removing them in order never leaves an index without a child.
 */
export function evaluateRepository(rules: PolicyRules, images: ImageFacts[], manifests: InventoryManifest[], now: number): Decision[] {
  const reasons = new Map<string, KeepReason[]>(images.map((i) => [i.digest, []]));
  const add = (d: string, r: KeepReason) => {
    const list = reasons.get(d);
    if (list && !list.includes(r)) list.push(r);
  };

  if (rules.keepLastPerBranch !== null) {
    const groups = new Map<string, ImageFacts[]>();
    for (const i of images) {
      const g = i.branch ?? '(untracked)';
      groups.set(g, [...(groups.get(g) ?? []), i]);
    }
    for (const [branch, list] of groups) {
      list.sort((a, b) => b.producedAt - a.producedAt || (a.digest < b.digest ? -1 : 1));
      for (const i of list.slice(0, rules.keepLastPerBranch)) add(i.digest, `last ${rules.keepLastPerBranch} of ${branch}`);
    }
  }
  for (const i of images) {
    if (rules.keepNewerThanMs !== null && now - i.producedAt < rules.keepNewerThanMs) add(i.digest, 'newer than the age limit');
    if (i.deployed) add(i.digest, 'deployed');
    if (rules.keepPulledWithinMs > 0 && i.lastPulledAt !== null && now - i.lastPulledAt < rules.keepPulledWithinMs) add(i.digest, 'pulled recently');
    if (i.restoredAt !== null && now - i.restoredAt < rules.keepRestoredWithinMs) add(i.digest, 'restored recently');
  }

  // Closure over references: whatever a kept manifest needs (children, subject) or carries (referrers) is kept.
  const byDigest = new Map(manifests.map((m) => [m.digest as string, m]));
  const referrers = new Map<string, string[]>();
  for (const m of manifests) if (m.subject) referrers.set(m.subject, [...(referrers.get(m.subject) ?? []), m.digest]);
  const kept = new Set<string>(images.filter((i) => reasons.get(i.digest)!.length > 0).map((i) => i.digest));
  const queue = [...kept];
  while (queue.length > 0) {
    const d = queue.pop()!;
    const m = byDigest.get(d);
    const next = [...(m?.children ?? []), ...(m?.subject ? [m.subject] : []), ...(referrers.get(d) ?? [])];
    for (const n of next) {
      if (kept.has(n) || !byDigest.has(n)) continue;
      kept.add(n);
      add(n, 'referenced by a kept image');
      queue.push(n);
    }
  }

  // Images that go, parents first; each takes the untagged manifests only it (among those going) reaches.
  const going = images.filter((i) => !kept.has(i.digest));
  const parentsOf = new Map<string, string[]>();
  for (const m of manifests) for (const c of m.children) parentsOf.set(c, [...(parentsOf.get(c) ?? []), m.digest]);
  const depth = (d: string, seen = new Set<string>()): number => {
    if (seen.has(d)) return 0;
    seen.add(d);
    const parents = parentsOf.get(d) ?? [];
    return parents.length === 0 ? 0 : 1 + Math.max(...parents.map((p) => depth(p, seen)));
  };
  going.sort((a, b) => depth(a.digest) - depth(b.digest) || b.producedAt - a.producedAt || (a.digest < b.digest ? -1 : 1));
  const tagged = new Set(images.map((i) => i.digest as string));
  const assigned = new Set<string>();
  const cascadeOf = (root: string): Digest[] => {
    const out: Digest[] = [];
    const stack = [root];
    const seen = new Set<string>([root]);
    while (stack.length > 0) {
      const d = stack.pop()!;
      const m = byDigest.get(d);
      for (const n of [...(m?.children ?? []), ...(referrers.get(d) ?? [])]) {
        if (seen.has(n) || kept.has(n) || tagged.has(n) || assigned.has(n) || !byDigest.has(n)) continue;
        seen.add(n);
        assigned.add(n);
        out.push(n as Digest);
        stack.push(n);
      }
    }
    return out;
  };
  const decisions: Decision[] = going.map((image) => ({ image, keep: false, reasons: [], cascade: cascadeOf(image.digest) }));
  for (const image of images) if (kept.has(image.digest)) decisions.push({ image, keep: true, reasons: reasons.get(image.digest)!, cascade: [] });
  return decisions;
}
