// The frame every benchmark runs in: required tools checked, one temp dir, servers stopped in reverse order and the
// temp dir removed on success, failure, Ctrl-C or SIGTERM, and a closed stdout (`… | head`) never killing the driver
// before it has cleaned up.

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeTree, tempDir, which, type TempDir } from '../../test/harness/tools.ts';

/** What a benchmark body gets: its temp dir, where to register stop functions, and when the run started (ms). */
export interface BenchRun { tmp: TempDir; stops: Array<() => Promise<void>>; started: number }

/** The value after `--name` on the command line, or undefined. */
export function argValue(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** Prints a driver message to stderr (stdout is the result table). */
export const log = (msg: string): void => void process.stderr.write(`[bench] ${msg}\n`);

/**
 * Runs `body` inside the frame. `tools` maps each required program to its install hint; `keep` keeps the temp dir;
 * `onCleanup` runs first on the way out (e.g. aborting work in flight).
 */
export async function runBench(opts: { prefix: string; tools: Record<string, string>; keep: boolean; onCleanup?: () => void }, body: (r: BenchRun) => Promise<void>): Promise<void> {
  for (const [tool, hint] of Object.entries(opts.tools)) {
    if (!which(tool)) throw new Error(`${tool} is not installed (${hint})`);
  }
  const started = Date.now();
  const tmp = await tempDir(opts.prefix);
  const stops: Array<() => Promise<void>> = [];
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    opts.onCleanup?.();
    for (const s of stops.reverse()) await s().catch((e: unknown) => log(`cleanup: ${String(e)}`));
    if (opts.keep) log(`kept ${tmp.path}`);
    else await removeTree(tmp.path).catch((e: unknown) => log(`cleanup of ${tmp.path}: ${String(e)}`));
  };
  const onSignal = (sig: string) => {
    log(`${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.stdout.on('error', () => undefined);
  try {
    await body({ tmp, stops, started });
  } finally {
    await cleanup();
  }
}

/** Calls `main` when `moduleUrl` is the script node was started with (a test may import the module's helpers). */
export function runIfMain(moduleUrl: string, main: () => Promise<void>): void {
  if (!process.argv[1] || resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
