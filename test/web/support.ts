import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WEB = join(ROOT, 'web');

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((n) => newestMtime(join(path, n))));
}

/** Builds web/dist (what the server serves at /) when it is missing or older than web/src. */
export function ensureDashboardBuilt(): void {
  const index = join(WEB, 'dist', 'index.html');
  const sources = ['src', 'public', 'index.html', 'vite.config.ts'].map((p) => join(WEB, p)).filter(existsSync);
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(...sources.map(newestMtime))) return;
  execFileSync('npm', ['run', '--silent', 'web:build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
}

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

let launchProblem = 'launchChromium() was not called';

/**
 * Debian's chromium driven by playwright-core (a fresh temporary profile per launch), or null when it cannot start
 * here (chromiumProblem() then says why): each browser test then calls `skipOrFail(t, 'chromium', chromiumProblem())`
 * (test/harness/require.ts), which skips it loudly, or fails it under BUILDGRID_TEST_REQUIRE.
 */
export async function launchChromium(): Promise<Browser | null> {
  try {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (apt-get install chromium; scripts/install.sh does)`);
    return await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 60_000 });
  } catch (err) {
    launchProblem = `chromium did not start: ${(err as Error).message.split('\n')[0]}`;
    return null;
  }
}

/** Why the last launchChromium() returned null. */
export function chromiumProblem(): string {
  return launchProblem;
}

/**
 * Saves a screenshot as docs/screenshots/<name>.png when BUILDGRID_SCREENSHOTS=1 (how the README's pictures are made):
 * the viewport at the top of the page, the full page, or with `element` that element (its first `maxHeight` pixels).
 */
export async function screenshot(page: Page, name: string, opts: { fullPage?: boolean; element?: Locator; maxHeight?: number } = {}): Promise<void> {
  if (process.env.BUILDGRID_SCREENSHOTS !== '1') return;
  const dir = join(ROOT, 'docs', 'screenshots');
  mkdirSync(dir, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  const path = join(dir, `${name}.png`);
  if (!opts.element) return void (await page.screenshot({ path, fullPage: opts.fullPage ?? false }));
  const box = await opts.element.boundingBox(); // relative to the viewport, which is scrolled to the top
  if (!box) throw new Error(`screenshot ${name}: the element is not visible`);
  const pad = 8;
  const clip = { x: Math.max(0, box.x - pad), y: Math.max(0, box.y - pad), width: box.width + 2 * pad, height: Math.min(box.height, opts.maxHeight ?? Infinity) + 2 * pad };
  await page.screenshot({ path, fullPage: true, clip });
}

/** Signs in through the form. */
export async function signIn(page: Page, baseUrl: string, email: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Applications', level: 1 }).waitFor();
}

/** A fresh browser context (desktop viewport) signed in as `email`; close it when done. */
export async function signedInContext(browser: Browser, baseUrl: string, email: string, password: string): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(20_000);
  await signIn(page, baseUrl, email, password);
  return { ctx, page };
}

/**
 * Collects the page's Content-Security-Policy violations (the browser's console errors and `securitypolicyviolation`
 * events, each as one line) into the returned array, for tests to assert it stays empty. Call before the first goto.
 */
export function watchCsp(page: Page): string[] {
  const seen: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content[- ]Security[- ]Policy/i.test(m.text())) seen.push(`${page.url()}: ${m.text()}`);
  });
  void page.exposeFunction('__bgCspViolation', (line: string) => seen.push(`${page.url()}: ${line}`));
  void page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      void (window as unknown as { __bgCspViolation(l: string): void }).__bgCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
    });
  });
  return seen;
}
