#!/usr/bin/env node
// The `buildgrid` command. Runs the compiled JavaScript in dist/ (`npm run build`; scripts/install.sh does it) when
// it is at least as new as every source file under src/ (tests aside), else the TypeScript sources through tsx — so an edited
// checkout never runs stale code, and an installed one starts in a fraction of the time and memory.
// BUILDGRID_FROM_SOURCE=1 always runs the sources.
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function compiledIsFresh() {
  if (process.env.BUILDGRID_FROM_SOURCE === '1') return false;
  try {
    return statSync(`${root}dist/.built`).mtimeMs >= newestSource(`${root}src`);
  } catch {
    return false;
  }
}

if (compiledIsFresh()) {
  await import('../dist/cli/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
