import { stat } from 'node:fs/promises';
import { AppError } from '../../core/errors.ts';
import type { EngineRequest } from '../types.ts';

/**
 * Checks an engine request before anything runs, so a misconfigured service gets a precise message.
 * Throws AppError INVALID ("build failed: …") for a missing context or Dockerfile, a bad arg/label name, or an
 * incomplete push target.
 */
export async function validateRequest(req: EngineRequest): Promise<void> {
  const isDir = await stat(req.contextDir).then((s) => s.isDirectory()).catch(() => false);
  if (!isDir) throw new AppError('INVALID', `build failed: build context ${req.contextDir} is not a directory`);
  const isFile = await stat(req.dockerfile).then((s) => s.isFile()).catch(() => false);
  if (!isFile) throw new AppError('INVALID', `build failed: Dockerfile ${req.dockerfile} not found`);
  for (const k of [...Object.keys(req.buildArgs), ...Object.keys(req.labels)]) {
    if (k === '' || k.includes('=')) throw new AppError('INVALID', `build failed: invalid build argument or label name "${k}"`);
  }
  const t = req.target;
  if (!t.registry || !t.repository || !t.tag) throw new AppError('INVALID', 'build failed: incomplete push target');
}
