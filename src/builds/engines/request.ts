import { realpath, stat } from 'node:fs/promises';
import { relative, isAbsolute } from 'node:path';
import { AppError } from '../../core/errors.ts';
import type { EngineRequest } from '../types.ts';

/** True when `child` is `root` or below it (both already real paths). */
function inside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Checks an engine request before anything runs, so a misconfigured service gets a precise message, and confines what
 * the engine reads: the context directory and the Dockerfile are resolved (symlinks followed, realpath) and must lie
 * inside `req.sourceDir` (the checkout) when it is given — a repository whose context or Dockerfile is a symlink leading
 * out of it must not make the engine read the server's files. Resolves to the request with both paths replaced by their
 * real paths (what the engine must use, so nothing can change between the check and the use).
 * Throws AppError INVALID ("build failed: …") for a missing context or Dockerfile, a path leaving the checkout (naming
 * the path as written in the repository), a bad arg/label name, or an incomplete push target.
 */
export async function validateRequest(req: EngineRequest): Promise<EngineRequest> {
  const root = req.sourceDir ? await realpath(req.sourceDir).catch(() => null) : null;
  if (req.sourceDir && !root) throw new AppError('INVALID', `build failed: checkout ${req.sourceDir} is missing`);
  const shown = (p: string): string => (req.sourceDir && inside(req.sourceDir, p) ? relative(req.sourceDir, p) || '.' : p);
  const confine = async (p: string, what: string): Promise<string | null> => {
    const real = await realpath(p).catch(() => null);
    if (real && root && !inside(root, real)) {
      throw new AppError('INVALID', `build failed: ${what} ${shown(p)} leads outside the repository (a symlink to ${real}); point the service at a path inside the repository`);
    }
    return real;
  };
  const contextDir = await confine(req.contextDir, 'build context');
  const isDir = contextDir !== null && (await stat(contextDir).then((s) => s.isDirectory()).catch(() => false));
  if (!isDir) throw new AppError('INVALID', `build failed: build context ${shown(req.contextDir)} is not a directory`);
  const dockerfile = await confine(req.dockerfile, 'Dockerfile');
  const isFile = dockerfile !== null && (await stat(dockerfile).then((s) => s.isFile()).catch(() => false));
  if (!isFile) throw new AppError('INVALID', `build failed: Dockerfile ${shown(req.dockerfile)} not found`);
  for (const k of [...Object.keys(req.buildArgs), ...Object.keys(req.labels)]) {
    if (k === '' || k.includes('=')) throw new AppError('INVALID', `build failed: invalid build argument or label name "${k}"`);
  }
  const t = req.target;
  if (!t.registry || !t.repository || !t.tag) throw new AppError('INVALID', 'build failed: incomplete push target');
  return { ...req, contextDir, dockerfile };
}
