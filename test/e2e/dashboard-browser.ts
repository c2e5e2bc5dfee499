// What the dashboard's browser tests share: the bundle (built once when missing), Debian's chromium
// driven by playwright-core, a page that records every console error and failed request, axe-core.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { DASHBOARD_DIR } from '../../src/api/dashboard-static.ts';

const root = path.resolve(DASHBOARD_DIR, '..', '..');

/** npm install builds the bundle (prepare); a checkout that skipped it gets it built here. */
export function ensureDashboardBuilt(): void {
  if (existsSync(path.join(DASHBOARD_DIR, 'index.html'))) return;
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', 'web', '--logLevel', 'error'], { cwd: root, stdio: 'inherit' });
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export type WatchedPage = { page: Page; problems: string[]; stop(): void };

/** A page whose console errors, uncaught exceptions, failed requests and HTTP errors are recorded. */
export function watch(page: Page): WatchedPage {
  const problems: string[] = [];
  let on = true;
  page.on('console', (m) => {
    if (on && m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => {
    if (on) problems.push(`page error: ${e.message}`);
  });
  page.on('requestfailed', (r) => {
    if (on) problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`);
  });
  page.on('response', (r) => {
    if (on && r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  return { page, problems, stop: () => (on = false) };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page as it is now, one line each. */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: axeSource });
  // run in the page (a string: the server's tsconfig has no DOM types)
  const found = await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target)) })))`) as { id: string; impact: string | null; targets: string[] }[];
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.impact} ${v.id}: ${v.targets.join(' ')}`);
}

/** How far the page is wider than the viewport (0: no horizontal scrolling), and the elements that stick out. */
export async function horizontalOverflow(page: Page): Promise<{ by: number; culprits: string[] }> {
  return JSON.parse(String(await page.evaluate(`JSON.stringify({
    by: document.documentElement.scrollWidth - window.innerWidth,
    culprits: [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
      .slice(0, 5).map((e) => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ').join('.') : '') + ' ' + Math.round(e.getBoundingClientRect().right)),
  })`))) as { by: number; culprits: string[] };
}

/**
 * What the first page (the fleet) costs: every file of the dashboard the browser loads until the
 * table shows its first rows and the registrations chart is drawn (index.html, the entry chunk,
 * the CSS and the lazily loaded chart chunk), raw and gzipped, and the time that took.
 */
export async function firstPageCost(context: BrowserContext, baseUrl: string): Promise<{ files: { url: string; bytes: number; gzipped: number }[]; bytes: number; gzipped: number; ms: number; problems: string[] }> {
  const page = await context.newPage();
  const w = watch(page);
  const bodies: Promise<{ url: string; body: Buffer }>[] = [];
  page.on('response', (r) => {
    const url = new URL(r.url());
    if (url.origin === baseUrl && (url.pathname === '/' || url.pathname.startsWith('/assets/'))) bodies.push(r.body().then((body) => ({ url: url.pathname, body })));
  });
  const t0 = performance.now();
  await page.goto(`${baseUrl}/#/fleet`);
  await page.locator('[data-testid=device-table] [role=rowgroup] a').first().waitFor({ timeout: 30_000 });
  const ms = performance.now() - t0;
  await page.locator('main canvas').first().waitFor({ timeout: 30_000 });
  const files = (await Promise.all(bodies)).map(({ url, body }) => ({ url, bytes: body.length, gzipped: gzipSync(body, { level: 9 }).length }));
  w.stop();
  await page.close();
  return { files, bytes: files.reduce((a, f) => a + f.bytes, 0), gzipped: files.reduce((a, f) => a + f.gzipped, 0), ms, problems: w.problems };
}
