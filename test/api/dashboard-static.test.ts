// The dashboard's files at / (src/api/dashboard-static.ts): public while the API keeps its tokens,
// hashed assets cached for good, no path outside the bundle, and a server that starts without a
// bundle, saying so.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import { quietLogger } from '../../src/log.ts';
import { startHarness, type Harness } from '../e2e/harness.ts';
import { testAccess, type TestAccess } from '../helpers/access.ts';

let dir: string;
let h: Harness;
let t: TestAccess;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'dashboard-'));
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>TinyMLaaS</title><script type="module" src="/assets/index-abc123.js"></script>');
  writeFileSync(path.join(dir, 'assets', 'index-abc123.js'), 'console.log("dashboard")');
  writeFileSync(path.join(dir, 'secret.txt'), 'not an asset');
  t = await testAccess();
  h = await startHarness({}, { access: t.access, dashboard: { dir } });
});

afterAll(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the dashboard files', () => {
  it('serves the page and its assets without a token, while the API still asks for one', async () => {
    const page = await h.api.inject({ method: 'GET', url: '/', headers: { host: 'localhost' } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.body).toContain('/assets/index-abc123.js');
    const asset = await h.api.inject({ method: 'GET', url: '/assets/index-abc123.js', headers: { host: 'localhost' } });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toContain('javascript');
    expect(asset.headers['cache-control']).toContain('immutable');
    const api = await h.api.inject({ method: 'GET', url: '/devices', headers: { host: 'localhost' } });
    expect(api.statusCode).toBe(401);
    expect((await h.api.inject({ method: 'GET', url: '/devices', headers: { host: 'localhost', ...t.bearer('viewer') } })).statusCode).toBe(200);
  });

  it('serves nothing outside the bundle\'s assets', async () => {
    for (const url of ['/assets/../secret.txt', '/assets/%2e%2e/secret.txt', '/secret.txt', '/assets/missing.js']) {
      const r = await h.api.inject({ method: 'GET', url, headers: { host: 'localhost', ...t.bearer('viewer') } });
      expect(r.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(r.body, url).not.toContain('not an asset');
    }
  });

  it('starts without a bundle, logs it, and says at / how to build it', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
    const api = await buildApi({ server: h.server, log, dashboard: { dir: path.join(dir, 'not-built') } });
    try {
      const r = await api.inject({ method: 'GET', url: '/' });
      expect(r.statusCode).toBe(200);
      expect(r.body).toContain('npm run build:web');
      expect(lines.some((l) => l.includes('dashboard bundle not built'))).toBe(true);
      expect((await api.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    } finally {
      await api.close();
    }
  });

  it('is left out with dashboard: false', async () => {
    const api = await buildApi({ server: h.server, log: quietLogger, dashboard: false });
    try {
      expect((await api.inject({ method: 'GET', url: '/' })).statusCode).toBe(404);
    } finally {
      await api.close();
    }
  });
});
