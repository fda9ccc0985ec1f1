import { makeShopWorld, pushImage, gcNow } from '/work/main/test/lifecycle/support.ts';
import { apiCall } from '/work/main/test/support/world.ts';
const x = await makeShopWorld();
for (let i = 0; i < 30; i++) await pushImage(x, 'web');
await apiCall(x.s, x.w.acmeOwner.token, 'PUT', '/accounts/acme/apps/shop/retention', { keepLastPerBranch: 3, graceDays: 0 });
for (let k = 0; k < 3; k++) {
  const t = Date.now();
  const r = await gcNow(x);
  console.log('gc', Date.now() - t, 'ms', r.report.retention.totals, r.report.gc.blobs.deleted, r.report.gc.startedAt, r.report.gc.finishedAt);
}
let t = Date.now();
await apiCall(x.s, x.w.acmeOwner.token, 'POST', '/accounts/acme/apps/shop/retention/run', { dryRun: true });
console.log('dry retention', Date.now() - t);
await x.stop();
