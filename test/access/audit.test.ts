// The audit trail: each change through the API is recorded (who, from where, what, on which
// device, the outcome), filtered by GET /audit, written as a pino line; secrets never appear.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, type AuditEntry } from '../../src/access/audit-log.ts';
import { quietLogger } from '../../src/log.ts';
import { JsonCollection } from '../../src/store/json-collection.ts';
import { startOtaHarness, type OtaHarness } from '../e2e/ota-harness.ts';
import { testAccess, type TestAccess, secretOf } from '../helpers/access.ts';

let h: OtaHarness;
let t: TestAccess;
const lines: string[] = [];

beforeAll(async () => {
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(chunk.toString()); cb(); } });
  t = await testAccess({}, pino({ level: 'info' }, sink));
  h = await startOtaHarness({}, { access: t.access });
  await h.client('audited-1');
}, 60_000);
afterAll(async () => h?.close());

const json = (role: 'viewer' | 'operator' | 'admin', remoteAddress = '10.1.2.3') => ({ headers: { ...t.bearer(role), 'content-type': 'application/json' }, remoteAddress });

describe('audit trail', () => {
  it('records changes with token, role, source, route, target and outcome; reads are not recorded', async () => {
    const start = Date.now();
    const w = await h.api.inject({ method: 'PUT', url: '/devices/audited-1/data/1/0/1', payload: JSON.stringify({ value: 120 }), ...json('operator') });
    expect(w.statusCode).toBe(200);
    await h.api.inject({ method: 'GET', url: '/devices/audited-1/data/3/0/0', headers: t.bearer('viewer') });
    const denied = await h.api.inject({ method: 'POST', url: '/devices/audited-1/execute/3/0/4', ...json('viewer', '10.9.9.9') });
    expect(denied.statusCode).toBe(403);
    const created = await h.api.inject({ method: 'POST', url: '/tokens', payload: JSON.stringify({ name: 'robot', role: 'viewer' }), ...json('admin') });
    const secret = created.json().token as string;
    const nothing = await h.api.inject({ method: 'POST', url: '/devices/audited-1/execute/3/0/4', headers: { 'content-type': 'application/json' } });
    expect(nothing.statusCode).toBe(401);

    const all = (await h.api.inject({ method: 'GET', url: `/audit?since=${start}`, headers: t.bearer('admin') })).json() as Record<string, unknown>[];
    expect(all.map((e) => e.action)).toEqual(['POST /tokens', 'POST /devices/:endpoint/execute/*', 'PUT /devices/:endpoint/data/*']);
    expect(all[2]).toMatchObject({
      via: 'api', actor: { name: 'test-operator', role: 'operator' }, source: '10.1.2.3',
      target: { endpoint: 'audited-1' }, outcome: { status: 200, ok: true },
    });
    expect(all[1]).toMatchObject({ actor: { name: 'test-viewer', role: 'viewer' }, source: '10.9.9.9', outcome: { status: 403, ok: false } });
    expect(all[0]).toMatchObject({ target: { token: created.json().id }, outcome: { status: 201 } });

    const byEndpoint = (await h.api.inject({ method: 'GET', url: '/audit?endpoint=audited-1', headers: t.bearer('admin') })).json() as unknown[];
    expect(byEndpoint).toHaveLength(2);
    const byToken = (await h.api.inject({ method: 'GET', url: '/audit?token=test-operator', headers: t.bearer('admin') })).json() as { action: string }[];
    expect(byToken.map((e) => e.action)).toEqual(['PUT /devices/:endpoint/data/*']);
    expect((await h.api.inject({ method: 'GET', url: `/audit?since=${Date.now() + 60_000}`, headers: t.bearer('admin') })).json()).toEqual([]);
    expect((await h.api.inject({ method: 'GET', url: '/audit?since=yesterday', headers: t.bearer('admin') })).statusCode).toBe(400);

    // one pino line per change, and no secret anywhere: not in the store, not in the log
    const auditLines = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'audit');
    expect(auditLines).toHaveLength(3);
    const everything = JSON.stringify(all) + lines.join('');
    for (const s of [...Object.values(t.token), secret]) {
      expect(everything).not.toContain(s);
      expect(everything).not.toContain(secretOf(s));
    }
  });
});

describe('audit retention', () => {
  it('keeps the newest entries up to its limit', async () => {
    const store = JsonCollection.memory<AuditEntry>();
    let now = 1_000;
    const log = new AuditLog(store, quietLogger, () => now++, 20);
    for (let i = 0; i < 57; i++) await log.record({ via: 'api', actor: null, source: 'x', action: `call ${i}`, target: {}, outcome: { status: 200, ok: true } });
    const kept = await log.query();
    expect((await store.all()).length).toBeLessThanOrEqual(22);
    expect(kept[0]!.action).toBe('call 56');
    expect(kept.map((e) => Number(e.action.split(' ')[1]))).toEqual(Array.from({ length: kept.length }, (_, k) => 56 - k));
  });
});
