import { z } from 'zod';
import { AppError } from '../core/errors.ts';
import { isDigest, type Digest } from '../core/digest.ts';
import { MediaType, MANIFEST_MEDIA_TYPES, isIndexMediaType } from './mediatypes.ts';

const descriptor = z.object({
  mediaType: z.string().min(1),
  digest: z.string().refine(isDigest, 'invalid digest'),
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  artifactType: z.string().optional(),
  platform: z.record(z.string(), z.unknown()).optional(),
});

/** An OCI content descriptor. */
export type Descriptor = z.infer<typeof descriptor> & { digest: Digest };

const imageManifest = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: descriptor,
  layers: z.array(descriptor),
  subject: descriptor.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

const imageIndex = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  manifests: z.array(descriptor),
  subject: descriptor.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

/** What the registry needs to know about a manifest to store and serve it. */
export interface ParsedManifest {
  mediaType: string;
  /** Blobs it references (config and layers). */
  blobs: Descriptor[];
  /** Manifests it references (entries of an index). */
  manifests: Descriptor[];
  subject?: Descriptor;
  /** artifactType, or the config media type for image manifests (as the referrers API reports it). */
  artifactType?: string;
  annotations?: Record<string, string>;
}

/**
 * Parses and validates manifest bytes. `contentType` is the request's Content-Type (may be empty; then the body's
 * `mediaType` decides). Throws AppError MANIFEST_INVALID with the reason on any problem.
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new AppError('MANIFEST_INVALID', 'manifest is not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new AppError('MANIFEST_INVALID', 'manifest must be a JSON object');
  }
  const bodyType = (json as { mediaType?: unknown }).mediaType;
  const ct = contentType?.split(';')[0]?.trim() || undefined;
  const mediaType = (typeof bodyType === 'string' ? bodyType : undefined) ?? ct ?? guessType(json);
  if (!MANIFEST_MEDIA_TYPES.includes(mediaType)) {
    throw new AppError('MANIFEST_INVALID', `unsupported manifest media type "${mediaType}"`);
  }
  if (ct && ct !== mediaType && MANIFEST_MEDIA_TYPES.includes(ct) && typeof bodyType === 'string') {
    throw new AppError('MANIFEST_INVALID', `Content-Type "${ct}" does not match the manifest's mediaType "${bodyType}"`);
  }
  if (isIndexMediaType(mediaType)) {
    const r = imageIndex.safeParse(json);
    if (!r.success) throw invalid(r.error);
    return {
      mediaType,
      blobs: [],
      manifests: r.data.manifests as Descriptor[],
      subject: r.data.subject as Descriptor | undefined,
      artifactType: r.data.artifactType,
      annotations: r.data.annotations,
    };
  }
  const r = imageManifest.safeParse(json);
  if (!r.success) throw invalid(r.error);
  return {
    mediaType,
    blobs: [r.data.config, ...r.data.layers] as Descriptor[],
    manifests: [],
    subject: r.data.subject as Descriptor | undefined,
    artifactType: r.data.artifactType ?? r.data.config.mediaType,
    annotations: r.data.annotations,
  };
}

function guessType(json: object): string {
  if ('manifests' in json) return MediaType.ociIndex;
  return MediaType.ociManifest;
}

function invalid(err: z.ZodError): AppError {
  const first = err.issues[0];
  const where = first?.path.join('.') || '(root)';
  return new AppError('MANIFEST_INVALID', `manifest is invalid at ${where}: ${first?.message ?? 'schema mismatch'}`);
}
