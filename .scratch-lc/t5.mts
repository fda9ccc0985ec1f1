import { makeShopWorld, pushImage } from '/work/main/test/lifecycle/support.ts';
import { apiCall } from '/work/main/test/support/world.ts';
const x = await makeShopWorld();
for (let i = 0; i < 30; i++) await pushImage(x, 'web');
const time = async (name: string, f: () => Promise<any>) => { const t = performance.now(); const r = await f(); console.log(name, (performance.now() - t).toFixed(1), 'ms'); return r; };
for (let k = 0; k < 3; k++) {
  const r = await time('gc nowait', () => apiCall(x.s, x.w.adminToken, 'POST', '/admin/gc', { retention: false }));
  for (let i = 0; ; i++) { const g = await apiCall(x.s, x.w.adminToken, 'GET', `/admin/lifecycle/runs/${r.body.id}`); if (g.body.status !== 'running') { console.log('polls', i, g.body.finishedAt, g.body.startedAt); break; } }
  await time('gc wait', () => apiCall(x.s, x.w.adminToken, 'POST', '/admin/gc', { retention: false, wait: true }));
  await time('gc wait+ret', () => apiCall(x.s, x.w.adminToken, 'POST', '/admin/gc', { retention: true, wait: true }));
}
await x.stop();
