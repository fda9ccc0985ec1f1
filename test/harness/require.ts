// The one place that decides whether a test may skip for want of a real part (a Docker Engine, Chromium, PostgreSQL…).
//
// BUILDGRID_TEST_REQUIRE says which parts must be present: `all` (exported by .ci/run, so CI cannot be green with a
// part silently missing) or a comma-separated list of part names (`postgres,chromium`). A required part that is
// missing FAILS the test that needed it, with the reason and what to install. A part that is not required is skipped
// loudly: a banner once per part and reason on stderr, and the test marked SKIP with the reason.
//
// Parts without a skip point: s3rver runs in the test process (an npm dependency), and the buildah, skopeo and podman
// tests fail outright when the tool is missing, so neither needs a name here.

import type { TestContext } from 'node:test';

/** Every real part a test may skip for want of, with what provides it. */
export const PARTS = {
  dockerd: 'a private Docker Engine: Debian\'s docker.io (dockerd, containerd, runc) and root (test/harness/dockerd.ts)',
  chromium: 'Debian\'s chromium at /usr/bin/chromium, driven by playwright-core (test/web/support.ts)',
  postgres: 'PostgreSQL: BUILDGRID_TEST_DATABASE_URL (.ci/run sets it) or Debian\'s postgresql binaries (test/support/postgres.ts)',
  netns: 'a test-made network namespace: root and iproute2 (test/security/netns.ts)',
  umoci: 'umoci, to unpack the harness image and run it (Debian package umoci)',
  'base-image': 'mmdebstrap, curl, and HTTPS to Debian\'s mirror and the npm registry, for the self-build image (test/image/node-base.ts)',
  'bench-tools': 'the benchmarks\' tools: skopeo, curl, wrk, nginx, docker-registry and PostgreSQL (bench/*.test.ts)',
} as const;

/** The name of a real part, as BUILDGRID_TEST_REQUIRE spells it. */
export type Part = keyof typeof PARTS;

const INSTALL_HINT = 'scripts/install.sh installs every part; .ci/run also starts PostgreSQL';

/**
 * The parts BUILDGRID_TEST_REQUIRE (in `env`) demands. Throws when it names a part that does not exist, so a typo can
 * never quietly let a part skip.
 */
export function requiredParts(env: NodeJS.ProcessEnv = process.env): Set<Part> {
  const raw = (env.BUILDGRID_TEST_REQUIRE ?? '').trim();
  const known = Object.keys(PARTS) as Part[];
  if (raw === '') return new Set();
  if (raw === 'all') return new Set(known);
  const names = raw.split(',').map((n) => n.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(n in PARTS));
  if (unknown.length) {
    throw new Error(`BUILDGRID_TEST_REQUIRE names unknown part(s) ${unknown.join(', ')}: use \`all\` or a comma-separated list of ${known.join(', ')}`);
  }
  return new Set(names as Part[]);
}

/** Thrown (so the test fails) when a part BUILDGRID_TEST_REQUIRE demands is missing. */
export class RequiredPartMissing extends Error {
  constructor(readonly part: Part, what: string, reason: string) {
    super(`${what} needs ${part} (${PARTS[part]}), which BUILDGRID_TEST_REQUIRE requires, but it is missing here: ${reason}\n` +
      `Install it (${INSTALL_HINT}), or run locally without BUILDGRID_TEST_REQUIRE to skip it.`);
    this.name = 'RequiredPartMissing';
  }
}

const announced = new Set<string>();

function banner(part: Part, what: string, reason: string): void {
  const key = `${part}\0${reason}`; // once per missing part and reason, not once per test
  if (announced.has(key)) return;
  announced.add(key);
  const bar = '!'.repeat(100);
  console.error([
    '', bar,
    `!!! SKIPPED for want of ${part}: ${what} (and every later test here that needs it: see the SKIP marks)`,
    '!!! What it checks did NOT run, so it is NOT verified on this machine.',
    ...reason.split('\n').slice(0, 20).map((l) => `!!! reason: ${l}`),
    `!!! needs: ${PARTS[part]}`,
    `!!! ${INSTALL_HINT}; BUILDGRID_TEST_REQUIRE=${part} (or all) turns this skip into a failure.`,
    bar, '',
  ].join('\n'));
}

/**
 * For a part of a file that cannot run here and is not a test of its own (a variant that falls back, a check inside a
 * test): throws RequiredPartMissing when `part` is required, else prints the banner once and returns.
 */
export function partMissing(part: Part, what: string, reason: string): void {
  if (requiredParts().has(part)) throw new RequiredPartMissing(part, what, reason);
  banner(part, what, reason);
}

/**
 * Inside a test that cannot run for want of `part`: fails it (throws RequiredPartMissing) when the part is required,
 * else skips it loudly with `reason`. Call as `return skipOrFail(t, 'dockerd', why)`.
 */
export function skipOrFail(t: TestContext, part: Part, reason: string): void {
  const first = reason.split('\n')[0] ?? reason;
  partMissing(part, t.name, reason);
  t.skip(`${part} unavailable: ${first}`);
}
