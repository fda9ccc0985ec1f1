import { z } from 'zod';

/** Request and response schemas of the lifecycle API (retention, trash, usage, garbage collection, fsck). */

export const RetentionPolicySchema = z.object({
  keepLastPerBranch: z.number().nullable().describe('keep the newest N images of every branch'),
  keepNewerThanDays: z.number().nullable().describe('keep images produced within D days'),
  keepPulledWithinDays: z.number().describe('always keep images pulled within P days'),
  graceDays: z.number().describe('removed images stay restorable this long before their blobs may be collected'),
  enabled: z.boolean(),
  updatedAt: z.string(), updatedBy: z.string(),
});
export const EffectivePolicySchema = RetentionPolicySchema.extend({ source: z.enum(['application', 'account']) });
export const PolicyReply = z.object({
  policy: RetentionPolicySchema.nullable().describe('set on this application (or account)'),
  effective: EffectivePolicySchema.nullable().describe('in force: the application\'s own, else the account default; null: nothing is removed'),
});
export const PolicyBody = z.object({
  keepLastPerBranch: z.number().int().min(1).max(100_000).nullable().optional(),
  keepNewerThanDays: z.number().positive().max(36_500).nullable().optional(),
  keepPulledWithinDays: z.number().min(0).max(36_500).optional().describe('default 30'),
  graceDays: z.number().min(0).max(3650).optional().describe('default 7'),
  enabled: z.boolean().optional().describe('default true'),
});
export const RetentionRunBody = z.object({ dryRun: z.boolean().describe('true: only report what would be removed') });

export const ImageReportSchema = z.object({
  repository: z.string(), digest: z.string(), tags: z.array(z.string()), images: z.array(z.string()), branch: z.string().nullable(),
  producedAt: z.string(), lastPulledAt: z.string().nullable(), buildIds: z.array(z.string()),
  bytes: z.number().describe('freed once collected'), cascade: z.array(z.string()).describe('untagged manifests removed with it'),
  status: z.enum(['removed', 'would-remove', 'skipped', 'kept']), reasons: z.array(z.string()).describe('why it is kept'),
  skippedReason: z.string().optional(), trashId: z.string().optional(), restorableUntil: z.string().optional(),
});
export const AppRetentionReportSchema = z.object({
  namespace: z.string(), application: z.string(), applicationId: z.string(), policy: EffectivePolicySchema.nullable(),
  images: z.number(), kept: z.number(), removed: z.number(), bytesFreed: z.number(), decisions: z.array(ImageReportSchema),
});
export const RetentionReportSchema = z.object({
  dryRun: z.boolean(), evaluatedAt: z.string(), applications: z.array(AppRetentionReportSchema),
  totals: z.object({ applications: z.number(), images: z.number(), kept: z.number(), removed: z.number(), skipped: z.number(), bytesFreed: z.number() }),
});

export const TrashEntrySchema = z.object({
  id: z.string(), application: z.string().nullable(), repository: z.string(), digest: z.string(), tags: z.array(z.string()), images: z.array(z.string()),
  manifests: z.number(), buildIds: z.array(z.string()), reason: z.string(), removedBy: z.string(),
  removedAt: z.string(), expiresAt: z.string().describe('restorable until then; collected after'), restoredAt: z.string().nullable(), purgedAt: z.string().nullable(),
  bytes: z.number(), state: z.enum(['removed', 'restored', 'purged']),
});
export const TrashQuery = z.object({
  app: z.string().optional().describe('only this application'),
  all: z.enum(['true', 'false', '1', '0']).optional().transform((v) => v === 'true' || v === '1').describe('also restored and purged entries'),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

export const UsageRowSchema = z.object({
  kind: z.enum(['account', 'application', 'repository']), name: z.string(),
  uniqueBytes: z.number().describe('referenced only here: freed if everything here went'), sharedBytes: z.number().describe('also referenced elsewhere'),
  totalBytes: z.number(), trashBytes: z.number().describe('held only by removed, still restorable images'), manifests: z.number(), blobs: z.number(),
});
export const UsageReportSchema = z.object({
  accounts: z.array(UsageRowSchema), applications: z.array(UsageRowSchema), repositories: z.array(UsageRowSchema),
  store: z.object({ blobs: z.number(), bytes: z.number(), referencedBytes: z.number(), trashBytes: z.number(), unreferencedBytes: z.number() }).optional(),
});

export const LifecycleRunSchema = z.object({
  id: z.string(), kind: z.enum(['gc', 'fsck', 'retention']), status: z.enum(['running', 'succeeded', 'failed']),
  trigger: z.string(), requestedBy: z.string(), dryRun: z.boolean(), options: z.record(z.string(), z.unknown()),
  startedAt: z.string(), heartbeatAt: z.string(), finishedAt: z.string().nullable(),
  summary: z.record(z.string(), z.unknown()).nullable(), error: z.string().nullable(),
});
export const LifecycleRunDetail = LifecycleRunSchema.extend({ report: z.unknown().describe('the full report: what was (or would be) removed') });
export const GcBody = z.object({
  dryRun: z.boolean().default(false),
  retention: z.boolean().default(true).describe('apply retention policies first'),
  wait: z.boolean().default(false).describe('answer when the run has finished (else 202 at once; poll the run)'),
});
export const FsckBody = z.object({ repair: z.boolean().default(false), wait: z.boolean().default(false) });
export const RunsQuery = z.object({ kind: z.enum(['gc', 'fsck', 'retention']).optional(), limit: z.coerce.number().int().min(1).max(500).default(50) });

export type RetentionPolicyT = z.infer<typeof RetentionPolicySchema>;
export type PolicyReplyT = z.infer<typeof PolicyReply>;
export type RetentionReportT = z.infer<typeof RetentionReportSchema>;
export type TrashEntryT = z.infer<typeof TrashEntrySchema>;
export type UsageReportT = z.infer<typeof UsageReportSchema>;
export type UsageRowT = z.infer<typeof UsageRowSchema>;
export type LifecycleRunT = z.infer<typeof LifecycleRunSchema>;
export type LifecycleRunDetailT = z.infer<typeof LifecycleRunDetail>;
