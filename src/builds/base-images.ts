// The base images of a build: every FROM of the Dockerfile (all stages) as written, the reference it means once
// global ARGs are substituted and Docker's normalisation applied (busybox:1 → docker.io/library/busybox:1), and the
// manifest digest the registry gave for it. The Dockerfile is tenant input: it is read through the checkout's real
// path only, capped in size, and parsed with plain string operations.

import { readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative } from 'node:path';
import { isRepositoryName } from '../core/reference.ts';
import type { BaseImageRecord } from '../metadata/types.ts';

const MAX_DOCKERFILE_BYTES = 1024 * 1024;
const MAX_BASES = 64;

/** One FROM line: its stage index, the image as written, and the reference after ARG substitution. */
export interface FromLine { stage: number; written: string; expanded: string }

/**
 * The FROM lines of a Dockerfile that name images (not `scratch`, not an earlier stage), with global ARGs (those
 * before the first FROM, overridden by `buildArgs`) substituted. Handles line continuations, comments, parser
 * directives (`# escape=`), `--platform=…` flags and `AS name`.
 */
export function fromLines(text: string, buildArgs: Readonly<Record<string, string>>): FromLine[] {
  const escape = /^#\s*escape\s*=\s*`/im.test(text.split('\n').slice(0, 5).join('\n')) ? '`' : '\\';
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trimEnd();
    if (current === '' && /^\s*#/.test(line)) continue;
    if (line.endsWith(escape)) {
      current += line.slice(0, -1) + ' ';
      continue;
    }
    logical.push(current + line);
    current = '';
  }
  if (current) logical.push(current);

  const globals = new Map<string, string>();
  const stages: string[] = [];
  const out: FromLine[] = [];
  for (const l of logical) {
    const words = l.trim().split(/\s+/).filter(Boolean);
    const instr = words[0]?.toUpperCase();
    if (instr === 'ARG' && stages.length === 0) {
      for (const w of words.slice(1)) {
        const eq = w.indexOf('=');
        const name = eq < 0 ? w : w.slice(0, eq);
        const def = eq < 0 ? undefined : unquote(w.slice(eq + 1));
        const value = buildArgs[name] ?? def;
        if (value !== undefined) globals.set(name, value);
      }
    } else if (instr === 'FROM') {
      const rest = words.slice(1).filter((w) => !w.startsWith('--'));
      const written = rest[0] ?? '';
      const asAt = rest.findIndex((w) => w.toLowerCase() === 'as');
      const name = asAt > 0 ? (rest[asAt + 1] ?? '').toLowerCase() : '';
      const expanded = substitute(written, globals);
      const stage = stages.length;
      stages.push(name);
      if (expanded && expanded.toLowerCase() !== 'scratch' && !stages.slice(0, stage).includes(expanded.toLowerCase()) && out.length < MAX_BASES) {
        out.push({ stage, written, expanded });
      }
    }
  }
  return out;
}

function unquote(v: string): string {
  return /^(".*"|'.*')$/.test(v) ? v.slice(1, -1) : v;
}

/** $NAME, ${NAME}, ${NAME:-default}, ${NAME:+alt} from `vars` (unknown names become ''), as Docker expands FROM. */
function substitute(s: string, vars: ReadonlyMap<string, string>): string {
  return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, braced: string | undefined, op: string | undefined, word: string | undefined, bare: string | undefined) => {
    const v = vars.get((braced ?? bare)!);
    if (op === '-') return v ? v : (word ?? '');
    if (op === '+') return v ? (word ?? '') : '';
    return v ?? '';
  });
}

/** A normalised image reference: registry host, repository path, and a tag or a digest. */
export interface ImageRef { domain: string; path: string; tag: string | null; digest: string | null }

/**
 * Docker's normalisation: no registry host → docker.io, a one-component Docker Hub path → library/<name>, neither tag
 * nor digest → tag latest. Null for what is not a valid reference.
 */
export function normalizeReference(ref: string): ImageRef | null {
  if (!ref || ref.length > 512 || /[\s$]/.test(ref)) return null;
  let rest = ref;
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$/.test(digest)) return null;
  }
  let tag: string | null = null;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(tag)) return null;
  }
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  const hasDomain = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost');
  let domain = hasDomain ? first : 'docker.io';
  let path = hasDomain ? rest.slice(slash + 1) : rest;
  if (domain === 'index.docker.io') domain = 'docker.io';
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  if (!isRepositoryName(path)) return null;
  if (!tag && !digest) tag = 'latest';
  return { domain, path, tag, digest };
}

/** `domain/path:tag` or `domain/path@digest` (with both: the digest, which is what is pulled). */
export function formatReference(r: ImageRef): string {
  return r.digest ? `${r.domain}/${r.path}@${r.digest}` : `${r.domain}/${r.path}:${r.tag}`;
}

/** Reads the Dockerfile if its real path lies inside `root` (a real path) and it is at most 1 MiB; else null. */
export async function readConfinedDockerfile(root: string, file: string): Promise<string | null> {
  const real = await realpath(file).catch(() => null);
  if (!real) return null;
  const rel = relative(root, real);
  if (rel.startsWith('..') || isAbsolute(rel)) return null;
  const st = await stat(real).catch(() => null);
  if (!st?.isFile() || st.size > MAX_DOCKERFILE_BYTES) return null;
  return readFile(real, 'utf8');
}

/**
 * The base images of a Dockerfile, each with the digest the BuildGrid registry answers for it now: a reference on
 * `registry` itself directly, any other through the pull-through cache (mirror/<domain>/<path>); a pinned digest as
 * written. A digest that cannot be learned (registry not reachable, an unconfigured upstream) is null.
 */
export async function baseImages(o: {
  dockerfile: string; buildArgs: Readonly<Record<string, string>>;
  registry: string; insecure: boolean; credentials: { username: string; password: string }; signal?: AbortSignal;
}): Promise<BaseImageRecord[]> {
  const out: BaseImageRecord[] = [];
  for (const f of fromLines(o.dockerfile, o.buildArgs)) {
    const ref = normalizeReference(f.expanded);
    const resolved = ref ? formatReference(ref) : null;
    let digest = ref?.digest ?? null;
    if (ref && !digest) digest = await headDigest(o, ref).catch(() => null);
    out.push({ stage: f.stage, written: f.written, resolved, digest });
  }
  return out;
}

async function headDigest(o: { registry: string; insecure: boolean; credentials: { username: string; password: string }; signal?: AbortSignal }, r: ImageRef): Promise<string | null> {
  const repo = r.domain === o.registry ? r.path : `mirror/${r.domain}/${r.path}`;
  const url = `${o.insecure ? 'http' : 'https'}://${o.registry}/v2/${repo}/manifests/${r.tag}`;
  const res = await fetch(url, {
    method: 'HEAD',
    signal: o.signal,
    headers: {
      authorization: `Basic ${Buffer.from(`${o.credentials.username}:${o.credentials.password}`).toString('base64')}`,
      accept: 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
    },
  });
  const d = res.headers.get('docker-content-digest');
  return res.ok && d && /^sha(256|512):[a-f0-9]+$/.test(d) ? d : null;
}
