import { makeShopWorld, pushImage } from '/work/main/test/lifecycle/support.ts';
import { apiCall } from '/work/main/test/support/world.ts';
const x = await makeShopWorld();
for (let i = 0; i < 30; i++) await pushImage(x, 'web');
const md = x.s.metadata;
const repo = (await md.repositories.get('acme/shop.web'))!;
const time = async (name: string, f: () => Promise<unknown>) => { const t = performance.now(); await f(); console.log(name, (performance.now() - t).toFixed(1), 'ms'); };
for (let k = 0; k < 2; k++) {
await time('services', () => md.services.list(x.app.id));
await time('deploymentsInUse', () => md.lifecycle.inventory.deploymentsInUse(x.app.id));
await time('builds', () => md.lifecycle.inventory.builds(x.app.id));
await time('manifests', () => md.lifecycle.inventory.manifests([repo.id]));
await time('pulls', () => md.lifecycle.pulls.lastPulled([repo.id]));
await time('trash', () => md.lifecycle.trash.list({ applicationId: x.app.id, state: 'all', limit: 10000 }));
await time('refsTo', async () => md.lifecycle.inventory.referencesTo((await md.lifecycle.inventory.manifests([repo.id])).flatMap((m) => [m.digest, ...m.blobs])));
await time('api dry', () => apiCall(x.s, x.w.acmeOwner.token, 'POST', '/accounts/acme/apps/shop/retention/run', { dryRun: true }));
await time('api me', () => apiCall(x.s, x.w.acmeOwner.token, 'GET', '/me'));
}
await x.stop();
