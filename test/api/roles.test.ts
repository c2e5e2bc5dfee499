// Every route of the OpenAPI document, as a stranger (no token), with the role just below the one
// it declares (403) and with its own role (neither 401 nor 403). Routes are read from the document,
// so a route added later is covered without editing this test; one without a role cannot even be added.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, type Role, type RouteRole } from '../../src/access/roles.ts';
import { buildApi } from '../../src/api/app.ts';
import { MissingRoleError } from '../../src/api/route-roles.ts';
import { quietLogger } from '../../src/log.ts';
import { PackageSigning, type SignatureRecord, type SignerRecord } from '../../src/signing/package-signing.ts';
import { generateSigningKey } from '../../src/signing/signing-key.ts';
import { JsonCollection } from '../../src/store/json-collection.ts';
import { startOtaHarness, type OtaHarness } from '../e2e/ota-harness.ts';
import { testAccess, type TestAccess } from '../helpers/access.ts';

type Operation = { method: string; path: string; role: RouteRole; security: unknown; multipart: boolean };

let h: OtaHarness;
let t: TestAccess;
let ops: Operation[];

beforeAll(async () => {
  t = await testAccess();
  const signing = new PackageSigning(generateSigningKey(), JsonCollection.memory<SignerRecord>(), JsonCollection.memory<SignatureRecord>());
  h = await startOtaHarness({ signing }, { access: t.access });
  const doc = (await h.api.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, Record<string, unknown>>>; components: { securitySchemes: Record<string, { scheme: string }> } };
  expect(doc.components.securitySchemes.bearerAuth?.scheme).toBe('bearer');
  ops = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({
    method: method.toUpperCase(), path, role: op['x-role'] as RouteRole, security: op.security,
    multipart: Boolean((op.requestBody as { content?: Record<string, unknown> } | undefined)?.content?.['multipart/form-data']),
  })));
}, 60_000);
afterAll(async () => h?.close());

/** A concrete URL for an OpenAPI path: parameters get harmless values that name nothing. */
function urlOf(path: string): string {
  return path
    .replace('{endpoint}', 'no-such-device')
    .replace('{digest}', '0'.repeat(64))
    .replace('{id}', '0123456789abcdef')
    .replace(/\{\*\}|\{wildcard\}/, '3/0/0')
    .replace(/\{[^}]+\}/g, 'x');
}

async function call(op: Operation, headers: Record<string, string>): Promise<number> {
  const body = ['POST', 'PUT', 'PATCH'].includes(op.method) ? { payload: '{}', headers: { ...headers, 'content-type': 'application/json' } } : { headers };
  if (op.path === '/events') {
    // a stream never ends by itself: ask over a real socket and stop reading after the status
    const addr = await h.api.listen({ host: '127.0.0.1', port: 0 }).catch(() => `http://127.0.0.1:${(h.api.server.address() as { port: number }).port}`);
    const ctl = new AbortController();
    const res = await fetch(`${addr}/events`, { headers, signal: ctl.signal });
    ctl.abort();
    return res.status;
  }
  return (await h.api.inject({ method: op.method as 'GET', url: urlOf(op.path), ...body })).statusCode;
}

const below = (r: Role): Role | undefined => ROLES[ROLES.indexOf(r) - 1];

describe('roles on every route of the OpenAPI document', () => {
  it('lists the routes with a role and the bearer scheme, the open ones without', () => {
    expect(ops.length).toBeGreaterThan(30);
    for (const op of ops) {
      expect([...ROLES, 'public'], `${op.method} ${op.path}`).toContain(op.role);
      expect(op.security, `${op.method} ${op.path}`).toEqual(op.role === 'public' ? [] : [{ bearerAuth: [] }]);
    }
    const pub = ops.filter((o) => o.role === 'public').map((o) => `${o.method} ${o.path}`).sort();
    expect(pub).toEqual(['GET /health', 'GET /ready']);
    const role = (m: string, p: string): RouteRole | undefined => ops.find((o) => o.method === m && o.path === p)?.role;
    expect(role('POST', '/tokens')).toBe('admin');
    expect(role('GET', '/audit')).toBe('admin');
    expect(role('POST', '/deployments')).toBe('deployer');
    expect(role('POST', '/devices/{endpoint}/execute/{*}')).toBe('operator');
    expect(role('GET', '/metrics')).toBe('viewer');
    expect(role('POST', '/signers')).toBe('admin');
    expect(role('POST', '/packages/{digest}/signature')).toBe('deployer');
  });

  it('answers 401 without a token, 403 one role below, and lets the declared role through', async () => {
    const seen: string[] = [];
    for (const op of ops) {
      const name = `${op.method} ${op.path}`;
      const anon = await call(op, {});
      if (op.role === 'public') {
        expect(anon, name).not.toBe(401);
        continue;
      }
      expect(anon, name).toBe(401);
      expect(await call(op, { authorization: 'Bearer tmla_0123456789abcdef_' + 'A'.repeat(43) }), `${name} forged token`).toBe(401);
      const lower = below(op.role);
      if (lower) expect(await call(op, t.bearer(lower)), `${name} as ${lower}`).toBe(403);
      const ok = await call(op, t.bearer(op.role));
      expect([401, 403], `${name} as ${op.role} got ${ok}`).not.toContain(ok);
      seen.push(name);
    }
    expect(seen.length).toBeGreaterThan(30);
  }, 60_000);

  it('answers in the error shape, with WWW-Authenticate on 401', async () => {
    const r = await h.api.inject({ method: 'GET', url: '/devices' });
    expect(r.statusCode).toBe(401);
    expect(r.headers['www-authenticate']).toMatch(/^Bearer /);
    expect(r.json()).toMatchObject({ error: 'UNAUTHENTICATED', details: null });
    const f = await h.api.inject({ method: 'POST', url: '/deployments', headers: { ...t.bearer('operator'), 'content-type': 'application/json' }, payload: '{}' });
    expect(f.json()).toEqual({ error: 'FORBIDDEN', message: expect.stringContaining('deployer'), details: { needed: 'deployer', held: 'operator' } });
  });

  it('refuses a revoked and an expired token', async () => {
    const { secret, token } = await t.tokens.create('short-lived', 'viewer');
    expect((await h.api.inject({ method: 'GET', url: '/devices', headers: { authorization: `Bearer ${secret}` } })).statusCode).toBe(200);
    await t.tokens.revoke(token.id);
    const r = await h.api.inject({ method: 'GET', url: '/devices', headers: { authorization: `Bearer ${secret}` } });
    expect(r.statusCode).toBe(401);
    expect(r.json().details).toEqual({ reason: 'REVOKED' });
    const past = await t.tokens.create('expired', 'viewer', Date.now() - 1);
    expect((await h.api.inject({ method: 'GET', url: '/devices', headers: { authorization: `Bearer ${past.secret}` } })).json().details).toEqual({ reason: 'EXPIRED' });
  });

  it('refuses to add a route that declares no role', async () => {
    const api = await buildApi({ server: h.platform.server, log: quietLogger });
    try {
      expect(() => api.get('/forgotten', async () => 'x')).toThrow(MissingRoleError);
      expect(() => api.post('/typo', { config: { role: 'superuser' as 'admin' } }, async () => 'x')).toThrow(/declares no role/);
    } finally {
      await api.close();
    }
  });
});
