// A real browser (Debian chromium, driven by playwright-core) opens a page on another origin that
// tries to drive the API the way the attack did: text/plain and body-less POSTs that would
// reboot a device, a JSON POST (preflighted), a urlencoded form and a multipart form uploading a
// model. The API runs as the demo does (--no-auth, loopback); nothing may reach a device or the
// model store, although the browser really sends the requests.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testAccess } from '../helpers/access.ts';
import { startOtaHarness, type OtaHarness } from './ota-harness.ts';

let h: OtaHarness;
let apiUrl: string;
let evil: http.Server;
let evilUrl: string;
let browser: BrowserContext;
let profile: string;
const arrived: string[] = [];

const page = (api: string): string => `<!doctype html><html><body>
<form id="f1" method="POST" action="${api}/devices/victim/execute/3/0/4" target="sink1"><input name="a" value="1"></form>
<form id="f2" method="POST" enctype="multipart/form-data" action="${api}/models" target="sink2"><input name="name" value="evil"><input type="file" name="model"></form>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe>
<script>
window.results = {};
async function attempt(name, init) {
  try { const r = await fetch('${api}/devices/victim/execute/3/0/4', init); window.results[name] = 'status ' + r.status + ' ' + r.type; }
  catch (e) { window.results[name] = 'blocked: ' + e.name; }
}
(async () => {
  await attempt('text-plain', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '' });
  await attempt('no-body', { method: 'POST', mode: 'no-cors' });
  await attempt('json', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  document.getElementById('f1').submit();
  const dt = new DataTransfer();
  dt.items.add(new File([new Uint8Array([8, 1, 18, 4])], 'evil.onnx'));
  document.querySelector('#f2 input[type=file]').files = dt.files;
  document.getElementById('f2').submit();
  window.done = true;
})();
</script></body></html>`;

beforeAll(async () => {
  const t = await testAccess();
  h = await startOtaHarness({}, { access: { ...t.access, tokens: undefined } });
  await h.api.listen({ host: '127.0.0.1', port: 0 });
  const apiPort = (h.api.server.address() as { port: number }).port;
  apiUrl = `http://127.0.0.1:${apiPort}`;
  h.api.server.on('request', (req: http.IncomingMessage) => arrived.push(`${req.method} ${req.url}`));
  await h.client('victim');
  evil = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(page(apiUrl));
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
  // "localhost" vs "127.0.0.1" and another port: a different origin, and a different site
  evilUrl = `http://localhost:${(evil.address() as { port: number }).port}/`;
  profile = mkdtempSync(path.join(tmpdir(), 'chromium-profile-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await new Promise((r) => evil?.close(r));
  await h?.close();
});

describe('a page on another origin', () => {
  it('cannot reboot a device or upload a model through the API', async () => {
    const sentBefore = [...h.platform.server.sender.stats.responses.values()].reduce((a, b) => a + b, 0);
    const tab = await browser.newPage();
    await tab.goto(evilUrl);
    await tab.waitForFunction(() => (globalThis as unknown as { done?: boolean }).done === true, undefined, { timeout: 30_000 });
    // the forms navigate their iframes: wait until both requests reached the API
    const deadline = Date.now() + 30_000;
    while (!(arrived.includes('POST /models') && arrived.filter((a) => a.includes('/execute/')).length >= 4) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const results = await tab.evaluate(() => (globalThis as unknown as { results: Record<string, string> }).results);
    // the browser did send them (the preflight of the JSON one is an OPTIONS that gets no CORS answer)
    expect(arrived).toContain('POST /models');
    expect(arrived.filter((a) => a === 'POST /devices/victim/execute/3/0/4').length).toBe(3);
    expect(arrived).toContain('OPTIONS /devices/victim/execute/3/0/4');
    expect(results.json).toMatch(/^blocked: TypeError/);
    expect(results['text-plain']).toBe('status 0 opaque');
    // nothing reached the device, nothing was stored
    const sentAfter = [...h.platform.server.sender.stats.responses.values()].reduce((a, b) => a + b, 0);
    expect(sentAfter).toBe(sentBefore);
    expect(await h.platform.catalog.list()).toEqual([]);
    // while the same call from a tool (no Origin, JSON) does reach the device: the check above could fail
    const ok = await fetch(`${apiUrl}/devices/victim/execute/3/0/5`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    expect(ok.status).toBe(200);
    expect([...h.platform.server.sender.stats.responses.values()].reduce((a, b) => a + b, 0)).toBe(sentBefore + 1);
  }, 90_000);
});
