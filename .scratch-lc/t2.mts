import { makeShopWorld, pushImage, credsOf } from '/work/main/test/lifecycle/support.ts';
const x = await makeShopWorld();
const p = await pushImage(x, 'web');
const h = async (auth: string) => { const r = await fetch(`${x.s.url}/v2/acme/shop.web/blobs/${p.blobs[0]}`, { method: 'HEAD', headers: { authorization: auth } }); await r.arrayBuffer(); return r.status; };
const admin = 'Basic ' + Buffer.from('admin:' + x.w.adminToken).toString('base64');
for (const [name, auth] of [['viewer', credsOf(x.w.acmeViewer)], ['admin', admin]] as const) {
  await h(auth);
  const t = Date.now();
  for (let i = 0; i < 20; i++) await h(auth);
  console.log(name, (Date.now() - t) / 20, 'ms/HEAD');
}
const t = Date.now();
for (let i = 0; i < 20; i++) await x.s.metadata.lifecycle.gc.touch([p.blobs[0]!]);
console.log('touch', (Date.now() - t) / 20, 'ms');
await x.stop();
