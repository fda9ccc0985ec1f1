import { makeShopWorld, pushImage } from '/work/main/test/lifecycle/support.ts';
import { apiCall } from '/work/main/test/support/world.ts';
const x = await makeShopWorld();
for (let i = 0; i < 3; i++) await pushImage(x, 'web');
await apiCall(x.s, x.w.acmeOwner.token, 'PUT', '/accounts/acme/apps/shop/retention', { keepLastPerBranch: 1 });
const r = await apiCall(x.s, x.w.acmeOwner.token, 'POST', '/accounts/acme/apps/shop/retention/run', { dryRun: false });
console.log(JSON.stringify(r.body.applications[0].decisions.map((d: any) => [d.status, d.skippedReason]), null, 1));
await x.stop();
