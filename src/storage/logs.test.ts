import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFsLogStore } from './logs.ts';
import { runLogStoreSuite } from './suite-logs.ts';

runLogStoreSuite('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'bg-logs-'));
  return {
    open: (o = {}) => createFsLogStore({ root, ...o }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});
