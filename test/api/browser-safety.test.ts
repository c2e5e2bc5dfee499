// What a web page or a rebinding DNS name could do to the API, refused at the door: a foreign
// Host (421), a foreign Origin on a change (403), "simple" cross-site requests (text/plain,
// form-urlencoded, no body: 415), no CORS unless named, rate limits (429 + Retry-After), HTTPS + HSTS.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiAccess } from '../../src/api/access-hooks.ts';
import { startLiveServer, type LiveServer } from '../helpers/live-server.ts';
import { testAccess } from '../helpers/access.ts';

let live: LiveServer | undefined;
afterEach(async () => {
  await live?.close();
  live = undefined;
});

/** The demo's configuration: no tokens, every other guard on. */
async function openApi(extra: Partial<ApiAccess> = {}): Promise<LiveServer> {
  const t = await testAccess();
  live = await startLiveServer({}, { access: { ...t.access, tokens: undefined, ...extra } });
  return live;
}

const execute = '/devices/dev-1/execute/3/0/4';

describe('requests a browser page or a rebinding DNS name can make', () => {
  it('refuses a foreign Host header with 421, serves the allowed names', async () => {
    const { api } = await openApi();
    const r = await api.inject({ method: 'GET', url: '/health', headers: { host: 'attacker.example:8080' } });
    expect(r.statusCode).toBe(421);
    expect(r.json()).toMatchObject({ error: 'MISDIRECTED_REQUEST' });
    for (const host of ['localhost:8080', '127.0.0.1', '[::1]:8080', 'LOCALHOST']) {
      expect((await api.inject({ method: 'GET', url: '/health', headers: { host } })).statusCode, host).toBe(200);
    }
  });

  it('refuses simple cross-site requests before any handler runs (415), even with --no-auth', async () => {
    const { api } = await openApi();
    for (const headers of [{ 'content-type': 'text/plain' }, { 'content-type': 'application/x-www-form-urlencoded' }, {}] as Record<string, string>[]) {
      const r = await api.inject({ method: 'POST', url: execute, headers, payload: headers['content-type'] ? 'a=1' : undefined });
      expect(r.statusCode, JSON.stringify(headers)).toBe(415);
      expect(r.json().error).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    // the same call as JSON gets as far as the device lookup (there is no such device)
    const ok = await api.inject({ method: 'POST', url: execute, headers: { 'content-type': 'application/json' } });
    expect(ok.statusCode).toBe(404);
  });

  it('refuses a change from a foreign Origin, multipart forms included; allows its own and a named one', async () => {
    const { api } = await openApi({ corsOrigins: ['https://dashboard.example'] });
    const form = { 'content-type': 'multipart/form-data; boundary=x' };
    const evil = await api.inject({ method: 'POST', url: execute, headers: { ...form, origin: 'http://evil.example' }, payload: '--x--\r\n' });
    expect(evil.statusCode).toBe(403);
    expect(evil.json()).toMatchObject({ error: 'CROSS_ORIGIN', details: { origin: 'http://evil.example' } });
    const json = { 'content-type': 'application/json' };
    expect((await api.inject({ method: 'POST', url: execute, headers: { ...json, origin: 'null' } })).statusCode).toBe(403);
    expect((await api.inject({ method: 'POST', url: execute, headers: { ...json, origin: 'http://localhost:80', host: 'localhost:80' } })).statusCode).toBe(404);
    expect((await api.inject({ method: 'POST', url: execute, headers: { ...json, origin: 'https://dashboard.example' } })).statusCode).toBe(404);
  });

  it('sends no CORS headers by default; --cors-origin answers the preflight of that origin only', async () => {
    const closed = await openApi();
    const pre = { 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' };
    const r = await closed.api.inject({ method: 'OPTIONS', url: execute, headers: { origin: 'https://dashboard.example', ...pre } });
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
    expect((await closed.api.inject({ method: 'GET', url: '/health', headers: { origin: 'https://dashboard.example' } })).headers['access-control-allow-origin']).toBeUndefined();
    await closed.close();
    const t = await testAccess();
    live = await startLiveServer({}, { access: { ...t.access, corsOrigins: ['https://dashboard.example'] } });
    const ok = await live.api.inject({ method: 'OPTIONS', url: execute, headers: { origin: 'https://dashboard.example', ...pre } });
    expect(ok.statusCode).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe('https://dashboard.example');
    expect(String(ok.headers['access-control-allow-headers'])).toContain('authorization');
    const other = await live.api.inject({ method: 'OPTIONS', url: execute, headers: { origin: 'http://evil.example', ...pre } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('rate limits on changes', () => {
  it('answers 429 with Retry-After past the per-address limit; reads are not limited', async () => {
    const { api } = await openApi({ rateLimit: { perAddress: 3, perToken: 0 } });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await api.inject({ method: 'POST', url: execute, headers: { 'content-type': 'application/json' } })).statusCode);
    expect(codes).toEqual([404, 404, 404, 429, 429]);
    const r = await api.inject({ method: 'DELETE', url: '/devices/dev-1' });
    expect(r.statusCode).toBe(429);
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(r.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(r.json()).toMatchObject({ error: 'RATE_LIMITED', details: { scope: 'address', limit: 3 } });
    for (let i = 0; i < 10; i++) expect((await api.inject({ method: 'GET', url: '/devices' })).statusCode).toBe(200);
    // another address has its own budget
    expect((await api.inject({ method: 'POST', url: execute, remoteAddress: '10.0.0.9', headers: { 'content-type': 'application/json' } })).statusCode).toBe(404);
  });

  it('limits each token on its own, wherever it comes from', async () => {
    const t = await testAccess({ rateLimit: { perAddress: 1000, perToken: 2 } });
    live = await startLiveServer({}, { access: t.access });
    const call = async (role: 'operator' | 'admin', remoteAddress: string): Promise<number> =>
      (await live!.api.inject({ method: 'POST', url: execute, remoteAddress, headers: { ...t.bearer(role), 'content-type': 'application/json' } })).statusCode;
    expect([await call('operator', '10.0.0.1'), await call('operator', '10.0.0.2'), await call('operator', '10.0.0.3')]).toEqual([404, 404, 429]);
    expect(await call('admin', '10.0.0.1')).toBe(404);
  });
});

describe('HTTPS', () => {
  it('serves the API over TLS with a test certificate, with HSTS, tokens still required', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tls-'));
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    const t = await testAccess();
    live = await startLiveServer({}, { access: t.access, tls: { cert: readFileSync(cert), key: readFileSync(key) } });
    await live.api.listen({ host: '127.0.0.1', port: 0 });
    const port = (live.api.server.address() as { port: number }).port;
    const get = (p: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> => new Promise((resolve, reject) => {
      https.get({ host: '127.0.0.1', port, path: p, ca: readFileSync(cert), servername: 'localhost', headers }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      }).on('error', reject);
    });
    const health = await get('/health');
    expect(health.status).toBe(200);
    expect(health.headers['strict-transport-security']).toBe('max-age=31536000');
    expect((await get('/devices')).status).toBe(401);
    const devices = await get('/devices', t.bearer('viewer'));
    expect(devices.status).toBe(200);
    expect(JSON.parse(devices.body)).toEqual({ total: 0, devices: [], next: null });
    // a client that does not trust the certificate does not get through
    await expect(new Promise((resolve, reject) => https.get({ host: '127.0.0.1', port, path: '/health' }, resolve).on('error', reject))).rejects.toThrow(/self[- ]signed|unable to verify/);
  });
});
