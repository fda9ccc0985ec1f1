import { fail } from './output.ts';

/** Wraps a command action: errors are printed with a hint and set a non-zero exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const opts = args.find((a) => typeof a === 'object' && a !== null && !Array.isArray(a) && 'json' in (a as object)) as { json?: boolean } | undefined;
      fail(err, Boolean(opts?.json ?? process.argv.includes('--json')));
    }
  };
}
