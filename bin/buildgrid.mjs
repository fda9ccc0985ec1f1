#!/usr/bin/env node
// The `buildgrid` command. Runs the compiled JavaScript in dist/ (`npm run build`; scripts/install.sh does it) when
// it is at least as new as every source file under src/ (tests aside), else the TypeScript sources through tsx — so an edited
// checkout never runs stale code, and an installed one starts in a fraction of the time and memory.
// BUILDGRID_FROM_SOURCE=1 always runs the sources.
import { compiledIsFresh } from './fresh.mjs';

if (process.env.BUILDGRID_FROM_SOURCE !== '1' && compiledIsFresh()) {
  await import('../dist/cli/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
