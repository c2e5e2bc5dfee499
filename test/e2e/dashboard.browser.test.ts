// The operator dashboard (issue 15) in a real browser: Debian's chromium, driven by playwright-core,
// against the real server (API + LwM2M over UDP) with a small simulated fleet. The whole story
// through the page (upload the zoo model, compile for esp32, the report with its confusion matrix,
// deploy, progress to 100 %, inferences arrive), a device page (read, write, observe a value that
// changes), an aborted rollout; no console error or failed request anywhere, no serious or critical
// axe-core violation, layouts at 1280x800 and 390x844, screenshots into docs/screenshots/.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFashionMnist, SAMPLE_TEST_COUNT } from '../../compiler/quantize/calibration-set.ts';
import type { SimulatedClient } from '../../simulators/client/lwm2m-client.ts';
import { axeViolations, ensureDashboardBuilt, firstPageCost, horizontalOverflow, launchChromium, watch, type WatchedPage } from './dashboard-browser.ts';
import { startOtaHarness, type OtaHarness } from './ota-harness.ts';
import { buildApi } from '../../src/api/app.ts';
import { quietLogger } from '../../src/log.ts';
import { testAccess } from '../helpers/access.ts';
import { registration } from '../store/registration-store.contract.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const shots = path.join(root, 'docs', 'screenshots');
const CNN = path.join(root, 'compiler', 'zoo', 'models', 'cnn.onnx');
const LABELS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const LONG = 180_000;

let h: OtaHarness;
let baseUrl: string;
let browser: Browser;
let desktop: BrowserContext;
let fleet: SimulatedClient[];
const pages: WatchedPage[] = [];

async function open(hash: string, viewport = DESKTOP): Promise<WatchedPage> {
  const ctx = viewport === DESKTOP ? desktop : await browser.newContext({ viewport });
  const w = watch(await ctx.newPage());
  pages.push(w);
  await w.page.goto(`${baseUrl}/${hash}`);
  return w;
}

/** no console error, no failed request, no serious or critical axe violation, no sideways scrolling */
async function checkPage(w: WatchedPage, what: string): Promise<void> {
  expect(await axeViolations(w.page), `axe on ${what}`).toEqual([]);
  const overflow = await horizontalOverflow(w.page);
  expect(overflow.by, `horizontal overflow of ${what}: ${overflow.culprits.join(', ')}`).toBeLessThanOrEqual(1);
  expect(w.problems, what).toEqual([]);
}

beforeAll(async () => {
  ensureDashboardBuilt();
  h = await startOtaHarness();
  await h.api.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(h.api.server.address() as { port: number }).port}`;
  fleet = await Promise.all(['dash-0', 'dash-1', 'dash-2'].map((e) => h.client(e)));
  // a rollout to these two takes minutes (every update step waits 60 s): the one to abort
  await Promise.all(['slow-0', 'slow-1'].map((e) => h.client(e, { updateStepDelayMs: 60_000 })));
  browser = await launchChromium();
  desktop = await browser.newContext({ viewport: DESKTOP });
}, LONG);

afterAll(async () => {
  for (const p of pages) p.stop();
  await browser?.close();
  await h?.close();
}, LONG);

describe('the operator dashboard in chromium', () => {
  it('tells the whole story: upload, compile, report, deploy to 100 %, inferences arrive', async () => {
    // the fleet
    const fleetPage = await open('#/fleet');
    const { page } = fleetPage;
    await page.getByTestId('count-total').filter({ hasText: '5' }).waitFor({ timeout: 30_000 });
    await page.locator('[data-testid=device-table] a', { hasText: 'dash-0' }).waitFor();
    expect(await page.locator('[data-testid=device-table] [role=rowgroup] [role=row]').count()).toBe(5);
    // a filter goes to the server and narrows the table
    await page.getByLabel('Endpoint contains').fill('slow-');
    await page.getByTestId('loaded').filter({ hasText: /^2 shown/ }).waitFor({ timeout: 30_000 });
    await page.getByLabel('Endpoint contains').fill('');
    await page.getByTestId('loaded').filter({ hasText: /^5 shown/ }).waitFor({ timeout: 30_000 });
    // device models and firmware versions, read from the devices on request (/3/0/1, /3/0/3)
    await page.getByRole('button', { name: 'Read them now' }).click();
    await page.locator('.stat', { hasText: 'device: ESP32-DevKitC' }).filter({ hasText: /^\s*5/ }).waitFor({ timeout: 60_000 });
    await page.locator('.stat', { hasText: 'firmware: 1.0.0' }).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(shots, 'fleet.png'), fullPage: true });
    await checkPage(fleetPage, 'the fleet');

    // models: upload the zoo's CNN, compile it for esp32, the report as pictures
    await page.getByRole('link', { name: 'Models' }).click();
    await page.locator('input[type=file][name=model]').setInputFiles(CNN);
    await page.getByLabel('Name').fill('fashion-cnn');
    await page.getByLabel('Class labels (comma-separated)').fill(LABELS.join(', '));
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.getByTestId('upload-status').filter({ hasText: 'Uploaded fashion-cnn 1.0.0' }).waitFor({ timeout: 60_000 });
    await page.locator('select[name="target-fashion-cnn"]').selectOption('esp32');
    await page.locator('tr[data-model="fashion-cnn"]').getByRole('button', { name: 'Compile' }).click();
    const report = page.getByTestId('report');
    await report.waitFor({ timeout: LONG });
    await expect.poll(() => report.locator('h2').textContent(), { timeout: 10_000 }).toContain('fashion-cnn 1.0.0 for esp32');
    await page.getByTestId('confusion-matrix').waitFor();
    // the accuracy the server measured is the page's text, and the matrix has every class
    const [model] = await (await fetch(`${baseUrl}/models`)).json() as { id: string }[];
    const serverReport = await (await fetch(`${baseUrl}/models/${model!.id}/modules/esp32/report`)).json() as { accuracy: { int8: number; samples: number; confusion: number[][] } };
    expect(serverReport.accuracy.samples).toBe(SAMPLE_TEST_COUNT);
    expect(serverReport.accuracy.confusion).toHaveLength(10);
    expect(serverReport.accuracy.confusion.flat().reduce((a, b) => a + b, 0)).toBe(SAMPLE_TEST_COUNT);
    expect(await page.getByTestId('accuracy').textContent()).toContain(`int8 ${(serverReport.accuracy.int8 * 100).toFixed(1)} %`);
    const matrixLabel = await page.getByTestId('confusion-matrix').getAttribute('aria-label');
    expect(matrixLabel).toContain('confusion matrix of 10 classes');
    expect(matrixLabel).toContain(`Trouser ${serverReport.accuracy.confusion[1]![1]} of`);
    await page.screenshot({ path: path.join(shots, 'models.png'), fullPage: true });
    await checkPage(fleetPage, 'the models and the report');

    // a deployment to the dash- devices: the selector's preview, then the live rollout to 100 %
    await page.getByRole('link', { name: 'Deployments' }).click();
    await page.locator('select[name=modelId]').selectOption({ label: 'fashion-cnn 1.0.0' });
    await page.getByLabel('Endpoint prefix').fill('dash-');
    await page.getByTestId('selector-preview').filter({ hasText: '3 matching devices' }).waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Deploy' }).click();
    await page.getByTestId('rollout-status').filter({ hasText: 'completed' }).waitFor({ timeout: LONG });
    expect(await page.getByTestId('rollout-progress').textContent()).toBe('100 %');
    expect(await page.getByTestId('rollout-devices').locator('tbody tr').allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/dash-0\s*done/)]));
    expect(await page.getByTestId('rollout-devices').locator('tbody tr', { hasText: 'done' }).count()).toBe(3);
    await page.screenshot({ path: path.join(shots, 'deployment.png'), fullPage: true });
    await checkPage(fleetPage, 'the rollout');

    // ML status: the model is active on the three; their inferences stream in
    await page.getByRole('link', { name: 'ML status' }).click();
    await page.getByTestId('active-count').filter({ hasText: '3' }).waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Follow inferences' }).click();
    await page.getByTestId('following').filter({ hasText: 'Following the inferences of 3 of 3 devices' }).waitFor({ timeout: 60_000 });
    const images = loadFashionMnist('test', 3);
    const expected = fleet.map((c, i) => c.ml!.infer(images.images[i]!));
    await page.getByTestId('inference-count').filter({ hasText: '3' }).waitFor({ timeout: 60_000 });
    const rows = await page.getByTestId('inferences').locator('tbody tr').allTextContents();
    for (const [i, c] of fleet.entries()) {
      expect(rows.some((r) => r.includes(c.endpoint) && r.includes(expected[i]!.label) && r.includes(`${(expected[i]!.confidence * 100).toFixed(0)} %`)), `${c.endpoint}: ${expected[i]!.label}`).toBe(true);
    }
    // more of them fill the histogram: 12 in all, each counted once
    const more = loadFashionMnist('test', 12);
    for (let round = 1; round <= 3; round++) {
      // one inference per device and round: a device folds changes made at once into one notification
      for (const [i, c] of fleet.entries()) c.ml!.infer(more.images[3 * round + i]!);
      await page.getByTestId('inference-count').filter({ hasText: new RegExp(`^${3 + 3 * round}$`) }).waitFor({ timeout: 60_000 });
    }
    expect(await page.getByTestId('confidence-histogram').getAttribute('aria-label')).toContain('12 recent inferences');
    await page.screenshot({ path: path.join(shots, 'ml-status.png'), fullPage: true });
    await checkPage(fleetPage, 'the ML status');
  }, 600_000);

  it('drives a device: read, write, observe a value that changes, cancel', async () => {
    const w = await open('#/devices/dash-1');
    const { page } = w;
    const row = (p: string) => page.locator(`tr[data-path="${p}"]`);
    await row('/3/0/0').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Read instance' }).first().click();
    await row('/3/0/0').getByTestId('value').filter({ hasText: 'Espressif (simulated)' }).waitFor({ timeout: 30_000 });
    // write: the device's own store has the new value, and the page reads it back
    await row('/3/0/15').getByRole('textbox').fill('Europe/Helsinki');
    await row('/3/0/15').getByRole('button', { name: 'Write' }).click();
    await row('/3/0/15').getByTestId('value').filter({ hasText: 'Europe/Helsinki' }).waitFor({ timeout: 30_000 });
    expect(fleet[1]!.store.get([3, 0, 15])).toBe('Europe/Helsinki');
    // a typed resource (Time): the page sends a number, as the object model says
    await row('/3/0/13').getByRole('textbox').fill('1700000000');
    await row('/3/0/13').getByRole('button', { name: 'Write' }).click();
    await row('/3/0/13').getByTestId('value').filter({ hasText: /^1700000000$/ }).waitFor({ timeout: 30_000 });
    expect(Number(fleet[1]!.store.get([3, 0, 13]))).toBe(1_700_000_000);
    // Write-Attributes from the page: the device holds them for the path
    await page.getByLabel('Path').fill('/3/0/9');
    await page.getByLabel('pmin (s)').fill('0');
    await page.getByLabel('pmax (s)').fill('600');
    await page.getByRole('button', { name: 'Write attributes' }).click();
    await page.getByTestId('op-status').filter({ hasText: 'Write-Attributes /3/0/9: 2.04 ok' }).waitFor({ timeout: 30_000 });
    // observe the battery level; the device changes it, the page follows
    await row('/3/0/9').getByRole('button', { name: 'Observe' }).click();
    await row('/3/0/9').getByRole('button', { name: 'Cancel observe' }).waitFor({ timeout: 30_000 });
    for (const level of [42, 37]) {
      fleet[1]!.store.set([3, 0, 9], level);
      await row('/3/0/9').getByTestId('value').filter({ hasText: new RegExp(`^${level}$`) }).waitFor({ timeout: 30_000 });
    }
    await page.getByTestId('device-log').filter({ hasText: 'notification /3/0/9 = 37' }).waitFor();
    await page.screenshot({ path: path.join(shots, 'device.png'), fullPage: true });
    await row('/3/0/9').getByRole('button', { name: 'Cancel observe' }).click();
    await row('/3/0/9').getByRole('button', { name: 'Observe' }).waitFor({ timeout: 30_000 });
    expect(h.platform.server.observations.list('dash-1').filter((o) => o.path.join('/') === '3/0/9')).toHaveLength(0);
    // Execute: Reboot (/3/0/4); the device answers 2.04, reboots and registers again, live in the log
    const reboots = fleet[1]!.stats.reboots;
    await row('/3/0/4').getByRole('button', { name: 'Execute' }).click();
    await page.getByTestId('op-status').filter({ hasText: 'Execute /3/0/4: 2.04 ok' }).waitFor({ timeout: 30_000 });
    await page.getByTestId('device-log').locator('li', { hasText: /registration$/ }).first().waitFor({ timeout: 60_000 });
    expect(fleet[1]!.stats.reboots).toBe(reboots + 1);
    await checkPage(w, 'the device page');
  }, 300_000);

  it('aborts a rollout from the page', async () => {
    const w = await open('#/deployments');
    const { page } = w;
    // a package upload from the same view: it is listed, stored by its SHA-256
    const bytes = Buffer.from('a software package for the dashboard test\n');
    await page.locator('input[name=packageFile]').setInputFiles({ name: 'app.bin', mimeType: 'application/octet-stream', buffer: bytes });
    await page.locator('input[name=packageName]').fill('dash-app');
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.getByRole('status').filter({ hasText: 'Uploaded dash-app 1.0.0' }).waitFor({ timeout: 30_000 });
    const pkgs = await (await fetch(`${baseUrl}/packages`)).json() as { name: string; kind: string; size: number }[];
    expect(pkgs).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'dash-app', kind: 'software', size: bytes.length })]));
    await page.locator('select[name=modelId]').selectOption({ label: 'fashion-cnn 1.0.0' });
    await page.getByLabel('Endpoint prefix').fill('slow-');
    await page.getByTestId('selector-preview').filter({ hasText: '2 matching devices' }).waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Deploy' }).click();
    await page.getByTestId('rollout-status').filter({ hasText: 'running' }).waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Abort rollout' }).click();
    await page.getByTestId('rollout-status').filter({ hasText: 'aborted' }).waitFor({ timeout: 60_000 });
    const id = decodeURIComponent(new URL(page.url()).hash.split('/')[2]!);
    const d = await (await fetch(`${baseUrl}/deployments/${id}`)).json() as { status: string };
    expect(d.status).toBe('aborted');
    await page.screenshot({ path: path.join(shots, 'deployment-aborted.png'), fullPage: true });
    await checkPage(w, 'the aborted rollout');
  }, 300_000);

  it('lays out every view on a phone (390x844) without sideways scrolling or axe violations', async () => {
    // each view once its data is in (what shows last)
    const views = [
      ['#/fleet', 'fleet', '[data-testid=device-table] a >> text=dash-0'],
      ['#/devices/dash-0', 'device', 'tr[data-path="/3/0/0"]'],
      ['#/models', 'models', 'tr[data-model="fashion-cnn"]'],
      ['#/deployments', 'deployments', 'main table a >> text=fashion-cnn@1.0.0'],
      ['#/ml', 'ml-status', '[data-testid=active-count]'],
    ] as const;
    for (const [hash, name, ready] of views) {
      const w = await open(hash, PHONE);
      await w.page.locator(ready).first().waitFor({ timeout: 30_000 });
      await w.page.screenshot({ path: path.join(shots, `${name}-phone.png`), fullPage: true });
      await checkPage(w, `${name} at 390x844`);
      await w.page.close();
    }
  }, 300_000);

  it('keeps the first page under 300 KB gzipped', async () => {
    const ctx = await browser.newContext({ viewport: DESKTOP }); // an empty cache
    try {
      const cost = await firstPageCost(ctx, baseUrl);
      process.stdout.write(`dashboard first page: ${cost.files.length} files (${cost.files.map((f) => f.url).join(' ')}), ${(cost.bytes / 1024).toFixed(1)} KB, ` +
        `${(cost.gzipped / 1024).toFixed(1)} KB gzipped; first rows shown ${cost.ms.toFixed(0)} ms after navigation (loopback, cold cache)\n`);
      expect(cost.files.map((f) => f.url)).toEqual(expect.arrayContaining(['/', expect.stringMatching(/^\/assets\/index-.*\.js$/), expect.stringMatching(/^\/assets\/ChartBox-.*\.js$/)]));
      expect(cost.gzipped).toBeLessThan(300 * 1024);
      expect(cost.problems).toEqual([]);
    } finally {
      await ctx.close();
    }
  }, 120_000);

  it('asks for a token when the API has authentication, and keeps it for the tab', async () => {
    // the same platform behind a second API with tokens (as src/main.ts runs it)
    const t = await testAccess();
    const secured = await buildApi({ server: h.platform.server, log: quietLogger, platform: h.platform, access: t.access });
    await secured.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(secured.server.address() as { port: number }).port}`;
    const ctx = await browser.newContext({ viewport: DESKTOP });
    try {
      const w = watch(await ctx.newPage());
      pages.push(w);
      await w.page.goto(`${url}/#/fleet`);
      const prompt = w.page.getByRole('dialog', { name: 'API token' });
      await prompt.waitFor({ timeout: 30_000 });
      await w.page.screenshot({ path: path.join(shots, 'token-prompt.png') });
      // the page's own files came without a token; only the API said 401 (and chromium logs each)
      expect(w.problems.length).toBeGreaterThan(0);
      expect(w.problems.filter((p) => !/\b401\b/.test(p))).toEqual([]);
      w.problems.length = 0;
      await w.page.getByLabel('Bearer token').fill(t.token.viewer);
      await w.page.getByRole('button', { name: 'Use token' }).click();
      await w.page.locator('[data-testid=device-table] a', { hasText: 'dash-0' }).waitFor({ timeout: 30_000 });
      await w.page.getByText('events: live').waitFor({ timeout: 30_000 });
      await w.page.reload();
      w.problems.length = 0; // the reload itself cancels the open event stream (net::ERR_ABORTED)
      await w.page.locator('[data-testid=device-table] a', { hasText: 'dash-0' }).waitFor({ timeout: 30_000 });
      expect(await prompt.count()).toBe(0);
      expect(await w.page.evaluate('sessionStorage.getItem("tinymlaas.token")')).toBe(t.token.viewer);
      expect(w.problems).toEqual([]);
      w.stop();
    } finally {
      await ctx.close();
      await secured.close();
    }
  }, 120_000);

  it('keeps 100,000 devices smooth: pages from the server, only the rows in view in the DOM', async () => {
    const store = h.platform.server.registrations.store;
    const N = 100_000;
    for (let i = 0; i < N; i++) {
      await store.add(registration(`fleet-${String(i).padStart(6, '0')}`, { queueMode: i % 4 === 0, expiresAt: Date.now() + 3_600_000 }));
    }
    const w = await open('#/fleet');
    const { page } = w;
    await page.getByTestId('count-total').filter({ hasText: String(N + 5) }).waitFor({ timeout: 60_000 });
    await page.getByTestId('loaded').filter({ hasText: `200 shown of ${N + 5}` }).waitFor({ timeout: 60_000 });
    const rows = page.locator('[data-testid=device-table] [role=rowgroup] [role=row]');
    expect(await rows.count()).toBeLessThan(60);
    // scrolling to the end of what is loaded fetches the next page from the server (cursor)
    await page.getByTestId('device-table').hover();
    const loaded = async (): Promise<number> => Number(/^(\d+) shown/.exec((await page.getByTestId('loaded').textContent()) ?? '')?.[1] ?? 0);
    for (const target of [400, 600]) {
      // the wheel, as a user scrolls, until the next page is in (a wheel during a fetch waits for the next)
      await expect.poll(async () => {
        await page.mouse.wheel(0, 4000);
        return loaded();
      }, { timeout: 60_000, interval: 500 }).toBeGreaterThanOrEqual(target);
    }
    expect(await rows.count()).toBeLessThan(60);
    // the rows in view are the ones at the scroll position, in endpoint order (dash-0..2 sort first)
    const seen = JSON.parse(String(await page.evaluate(`(() => {
      const el = document.querySelector('[data-testid=device-table]');
      const top = el.getBoundingClientRect().top + 40;
      const row = [...el.querySelectorAll('[role=rowgroup] [role=row]')].find((r) => r.getBoundingClientRect().top >= top);
      return JSON.stringify({ scrollTop: el.scrollTop, text: row ? row.textContent : '' });
    })()`))) as { scrollTop: number; text: string };
    const index = Number(/fleet-(\d{6})/.exec(seen.text)?.[1] ?? NaN);
    expect(seen.scrollTop).toBeGreaterThan(200 * 34);
    expect(Math.abs(index + 3 - seen.scrollTop / 34), seen.text).toBeLessThanOrEqual(2);
    await page.screenshot({ path: path.join(shots, 'fleet-100k.png') });
    expect(w.problems).toEqual([]);
  }, 300_000);
});
