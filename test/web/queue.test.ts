import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { buildInput, tick } from '../../src/metadata/suite-fixtures.ts';
import { skipOrFail } from '../harness/require.ts';
import { claim, setUpQueue, type Setup } from '../builds/queue-world.ts';
import { ADMIN } from '../support/server.ts';
import { chromiumProblem, ensureDashboardBuilt, launchChromium, screenshot, signedInContext } from './support.ts';

// The build page of a queued build shows its place in line and when it should start (the fair queue's numbers from
// test/builds/queue.test.ts), in a real browser, and drops them once a worker claims the build.

let x: Setup;
let browser: Browser | null = null;

before(async () => {
  ensureDashboardBuilt();
  x = await setUpQueue({});
  await claim(x.s, x.worker, 'h/1');
  await claim(x.s, x.worker, 'h/2'); // alpha runs 2 of its 2
  await tick();
  x.late = await x.s.metadata.builds.create(buildInput(x.beta));
  browser = await launchChromium();
}, { timeout: 120_000 });

after(async () => {
  await browser?.close();
  await x?.s.stop();
});

test('a queued build\'s page says where it stands, and stops saying it once the build starts', { timeout: 120_000 }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  const { ctx, page } = await signedInContext(browser, x.s.url, ADMIN.email, ADMIN.password);
  try {
    await page.goto(`${x.s.url}/a/alpha/apps/shop/builds/${x.burst[4]!.id}`);
    const alpha = page.getByTestId('queue-place');
    await alpha.waitFor();
    assert.match(await alpha.innerText(), /In line\s+#4 · #3 of your account's · no estimate yet/);
    await screenshot(page, 'build-queued');

    await page.goto(`${x.s.url}/a/beta/apps/shop/builds/${x.late.id}`);
    const beta = page.getByTestId('queue-place');
    await beta.waitFor();
    assert.match(await beta.innerText(), /In line\s+next · your account's next build · starts as soon as a worker is free/);
    assert.equal((await claim(x.s, x.worker, 'h/3'))?.id, x.late.id);
    await beta.waitFor({ state: 'detached', timeout: 30_000 }); // the page polls a queued build every 5 s
  } finally {
    await ctx.close();
  }
});
