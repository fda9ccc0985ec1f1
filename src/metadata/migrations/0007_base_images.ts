import type { Kysely, Migration } from 'kysely';

/**
 * The base images of a build (builds/base-images.ts): a JSON array of { stage, written, resolved, digest }, one per
 * FROM that names an image; null for builds made before this column, or when the Dockerfile could not be read.
 * Schema builder only, so PostgreSQL runs the same migration.
 */
export const m0007_base_images: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('builds').addColumn('base_images', 'text').execute();
  },
};
