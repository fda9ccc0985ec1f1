#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=4194304 node --max-semi-space-size=2
// Run it directly (`bin/buildgrid.mjs …`, as scripts/start.sh, `npm start`, `npm link` and the image do) so the line
// above applies: V8's young generation capped at 2 MiB per semi-space, and glibc's mmap threshold pinned at 4 MiB
// (by default it rises after the first large free, so a sign-in's 16 MiB scrypt buffer would stay in the heap for
// good; pinned, it goes back to the system, while 1 MiB blob buffers still come from the heap). Measured: `serve`
// peaks at ≈ 117 MiB instead of ≈ 176 MiB after a sign-in, a 256 MiB push and 64-connection manifest load, at the
// same throughput. `node bin/buildgrid.mjs` works too, without them.
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
