import { AppError } from './errors.ts';
import { isDigest, type Digest } from './digest.ts';

// The OCI distribution spec's grammar for repository names and tags.
const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const MAX_NAME = 255;

/** True when `name` is a valid repository name (`acme/web.api`). */
export function isRepositoryName(name: string): boolean {
  return name.length <= MAX_NAME && NAME_RE.test(name);
}

/** Returns `name` unchanged. Throws AppError NAME_INVALID when it breaks the OCI name grammar. */
export function parseRepositoryName(name: string): string {
  if (!isRepositoryName(name)) {
    throw new AppError(
      'NAME_INVALID',
      `invalid repository name "${name.slice(0, 80)}": use lowercase letters, digits and separators (. _ __ -), components joined by /`,
    );
  }
  return name;
}

/** True when `tag` is a valid tag. */
export function isTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** A manifest reference: a tag or a digest. */
export type Reference = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: Digest };

/** Parses the `<reference>` of `/v2/<name>/manifests/<reference>`. Throws TAG_INVALID or DIGEST_INVALID. */
export function parseReference(ref: string): Reference {
  if (ref.includes(':')) {
    if (!isDigest(ref)) throw new AppError('DIGEST_INVALID', `invalid digest "${ref.slice(0, 80)}"`);
    return { kind: 'digest', digest: ref };
  }
  if (!isTag(ref)) {
    throw new AppError('TAG_INVALID', `invalid tag "${ref.slice(0, 80)}": up to 128 of [A-Za-z0-9_.-], not starting with . or -`);
  }
  return { kind: 'tag', tag: ref };
}

/** The namespace (first path component) of a repository name: `acme` for `acme/web.api`. */
export function namespaceOf(name: string): string {
  const i = name.indexOf('/');
  return i < 0 ? name : name.slice(0, i);
}

/**
 * Turns free text into a slug valid as one OCI name component: lowercase, runs of other characters become `-`,
 * trimmed of separators. Returns '' when nothing usable is left.
 */
export function slugify(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/g, '');
}
