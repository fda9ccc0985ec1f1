// The build benchmark's table: medians, seconds formatting, and the per-part breakdown columns.

/** The median of the finite values (NaN when there are none). */
export function median(xs: number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Milliseconds as seconds: 2 decimals below 10 s, 1 above. */
export const fmtS = (ms: number): string => (!Number.isFinite(ms) ? 'n/a' : ms < 10_000 ? (ms / 1000).toFixed(2) : (ms / 1000).toFixed(1));

/** Median per named part over samples, as "name 1.23 · name 0.45". */
export function breakdown(samples: Array<Array<[string, number]>>): string {
  if (!samples.length) return '';
  const names = samples[0]!.map(([n]) => n);
  return names.map((n) => `${n} ${fmtS(median(samples.map((s) => s.find(([k]) => k === n)?.[1] ?? NaN)))}`).join(' · ');
}

/** One scenario of the table: samples of both sides (wall time, CPU, their parts) and how to judge the aim. */
export interface Row {
  scenario: string;
  bg: number[];
  hand: number[];
  bgCpu: number[];
  handCpu: number[];
  bgParts: Array<Array<[string, number]>>;
  handParts: Array<Array<[string, number]>>;
  bgCpuParts: Array<Array<[string, number]>>;
  handCpuParts: Array<Array<[string, number]>>;
  aim: (bg: number, hand: number) => string;
}

/** ✅ or ❌. */
export const ok = (pass: boolean): string => (pass ? '✅' : '❌');

/** The markdown table: medians, ratio, CPU, aim and the breakdown columns. */
export function renderTable(rows: Row[]): string {
  const lines = [
    '| scenario | BuildGrid (s) | by hand (s) | BuildGrid ÷ by hand | CPU s, BuildGrid / by hand | vs aim | where BuildGrid\'s time goes (median s) | by hand (median s) |',
    '|---|--:|--:|--:|--:|---|---|---|',
  ];
  for (const r of rows) {
    const bg = median(r.bg);
    const hand = median(r.hand);
    const ratio = Number.isFinite(bg / hand) ? `${(bg / hand).toFixed(2)}×` : 'n/a';
    lines.push(`| ${r.scenario} | ${fmtS(bg)} | ${fmtS(hand)} | ${ratio} | ${fmtS(median(r.bgCpu))} / ${fmtS(median(r.handCpu))} | ${r.aim(bg, hand)} | ${breakdown(r.bgParts)}<br>CPU: ${breakdown(r.bgCpuParts)} | ${breakdown(r.handParts)}<br>CPU: ${breakdown(r.handCpuParts)} |`);
  }
  return lines.join('\n');
}

/** A count: integers as is, else one decimal; ? when not finite. */
export const fmtN = (x: number): string => (Number.isFinite(x) ? (Number.isInteger(x) ? String(x) : x.toFixed(1)) : '?');
