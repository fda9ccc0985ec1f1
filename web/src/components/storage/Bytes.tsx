import { bytes } from '../../lib/time';

/** A byte count for people ("12.3 kB") with the exact number on hover and in data-bytes (what tests and scripts read). */
export function Bytes({ n, testId }: { n: number | null | undefined; testId?: string }) {
  if (n === null || n === undefined) return <span className="muted">—</span>;
  return <span className="bytes" title={`${n.toLocaleString('en')} bytes`} data-bytes={n} data-testid={testId}>{bytes(n)}</span>;
}
