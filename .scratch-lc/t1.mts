import { makeShopWorld, pushImage } from '/work/main/test/lifecycle/support.ts';
const x = await makeShopWorld();
let t = Date.now();
for (let i = 0; i < 10; i++) await pushImage(x, 'web');
console.log('10 pushes', Date.now() - t, 'ms');
t = Date.now();
for (let i = 0; i < 10; i++) await x.client.hasBlob('acme/shop.web', 'sha256:' + '0'.repeat(64) as any);
console.log('10 HEADs', Date.now() - t, 'ms');
await x.stop();
