import type { Migration } from 'kysely';
import { m0001_initial } from './0001_initial.ts';
import { m0002_builds } from './0002_builds.ts';
import { m0003_hooks } from './0003_hooks.ts';
import { m0004_lifecycle } from './0004_lifecycle.ts';
import { m0005_worker_tokens } from './0005_worker_tokens.ts';
import { m0006_fair_queue } from './0006_fair_queue.ts';
import { m0007_base_images } from './0007_base_images.ts';

/**
 * Every migration, by name. Names are numbered and applied in lexical order; migrations are forward-only (no
 * `down`): to change the schema, append a new numbered entry, never edit an applied one. This static map is the
 * Migrator's provider (no file-system scanning, so bundling and tsx both work).
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '0001_initial': m0001_initial,
  '0002_builds': m0002_builds,
  '0003_hooks': m0003_hooks,
  '0004_lifecycle': m0004_lifecycle,
  '0005_worker_tokens': m0005_worker_tokens,
  '0006_fair_queue': m0006_fair_queue,
  '0007_base_images': m0007_base_images,
});
