// Whether dist/ (the compiled JavaScript, `npm run build`) is at least as new as every source file under src/ (tests
// aside). The launcher runs dist/ only then; the benchmarks compile first when it is not, so they measure BuildGrid
// as installed rather than through tsx.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The checkout's root directory (with a trailing slash).
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

/**
 * True when dist/.built is at least as new as the newest non-test .ts under src/, or when there is no src/ at all
 * (an installed image that ships dist/ alone).
 */
export function compiledIsFresh() {
  let built;
  try {
    built = statSync(`${root}dist/.built`).mtimeMs;
  } catch {
    return false;
  }
  if (!existsSync(`${root}src`)) return true;
  try {
    return built >= newestSource(`${root}src`);
  } catch {
    return false;
  }
}
