import { makeShopWorld, pushImage, sleep } from '/work/main/test/lifecycle/support.ts';
import { apiCall } from '/work/main/test/support/world.ts';
const x = await makeShopWorld({ gcBatchSize: 64 });
for (let i = 0; i < 220; i++) await pushImage(x, 'web', { layers: 2, layerSize: 2048 });
await apiCall(x.s, x.w.acmeOwner.token, 'PUT', '/accounts/acme/apps/shop/retention', { keepLastPerBranch: 1, graceDays: 0, keepPulledWithinDays: 0 });
await sleep(1200);
// Wrap sweep to time each transaction (the lock is held for the whole call).
const gc = x.s.metadata.lifecycle.gc as any;
const orig = gc.sweep.bind(gc);
const times: number[] = [];
gc.sweep = async (...a: any[]) => { const t = performance.now(); const r = await orig(...a); times.push(performance.now() - t); return r; };
// Probe: a manifest lookup every 2 ms during the run, to see how long pulls' queries wait.
let stop = false; const waits: number[] = [];
const repo = (await x.s.metadata.repositories.get('acme/shop.web'))!;
const probe = (async () => { while (!stop) { const t = performance.now(); await x.s.metadata.tags.get(repo.id, 'x'); waits.push(performance.now() - t); await sleep(2); } })();
const r = await apiCall(x.s, x.w.adminToken, 'POST', '/admin/gc', { wait: true });
stop = true; await probe;
times.sort((a, b) => a - b); waits.sort((a, b) => a - b);
const pct = (a: number[], p: number) => a[Math.min(a.length - 1, Math.floor(a.length * p))]!.toFixed(1);
console.log('blobs deleted', r.body.report.gc.blobs.deleted, 'links', r.body.report.gc.links.deleted, 'sweep txns', times.length);
console.log('sweep txn ms: p50', pct(times, 0.5), 'p90', pct(times, 0.9), 'max', pct(times, 1));
console.log('tag lookup wait ms during gc: p50', pct(waits, 0.5), 'p99', pct(waits, 0.99), 'max', pct(waits, 1), 'n', waits.length);
await x.stop();
