// Lifetime expiry (Core §6.2.1: a client that does not update within its lifetime is removed):
// in the registration service with a fast sweep, and end to end through the live server.
import { afterEach, describe, expect, it } from 'vitest';
import { Method } from '../../src/coap/message.ts';
import { EventBus, type ServerEvent } from '../../src/events/server-event.ts';
import { quietLogger } from '../../src/log.ts';
import { RegistrationService, type NewRegistration } from '../../src/registration/registration-service.ts';
import { MemoryRegistrationStore } from '../../src/store/memory-registration-store.ts';
import { CoapEndpoint } from '../../src/coap/endpoint.ts';
import { UdpTransport } from '../../src/coap/transport.ts';
import { startLiveServer, type LiveServer } from '../helpers/live-server.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function newRegistration(endpoint: string, lifetime: number): NewRegistration {
  return {
    endpoint, lwm2mVersion: '1.1', lifetime, binding: 'U', queueMode: false, rootPath: '',
    objectLinks: [{ path: [3, 0], attributes: {} }], contentFormats: [], objectVersions: {},
    address: { address: '127.0.0.1', port: 5000 }, additional: {},
  };
}

function serviceWithEvents(expiryGraceMs: number): { service: RegistrationService; events: ServerEvent[]; next: (pred: (e: ServerEvent) => boolean, ms: number) => Promise<ServerEvent> } {
  const bus = new EventBus();
  const events: ServerEvent[] = [];
  bus.on((e) => events.push(e));
  const service = new RegistrationService({ store: new MemoryRegistrationStore(), events: bus, log: quietLogger, expiryGraceMs, sweepIntervalMs: 25 });
  cleanups.push(() => service.stop());
  const next = (pred: (e: ServerEvent) => boolean, ms: number): Promise<ServerEvent> => new Promise((resolve, reject) => {
    const hit = events.find(pred);
    if (hit) return resolve(hit);
    const t = setTimeout(() => { off(); reject(new Error(`no event within ${ms} ms`)); }, ms);
    const off = bus.on((e) => {
      if (pred(e)) { clearTimeout(t); off(); resolve(e); }
    });
  });
  return { service, events, next };
}

describe('lifetime expiry in the registration service', () => {
  it('removes a registration after lt + grace and emits deregistration with reason expired', async () => {
    const { service, next } = serviceWithEvents(50);
    const start = Date.now();
    const reg = await service.register(newRegistration('short-lived', 1));
    const e = await next((x) => x.type === 'deregistration', 4000);
    const elapsed = Date.now() - start;
    expect(e).toMatchObject({ type: 'deregistration', reason: 'expired', registration: { id: reg.id, endpoint: 'short-lived' } });
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(await service.byEndpoint('short-lived')).toBeUndefined();
    expect(await service.byId(reg.id)).toBeUndefined();
  });

  it('an update before the lifetime runs out pushes expiry back', async () => {
    const { service, events, next } = serviceWithEvents(50);
    const reg = await service.register(newRegistration('kept', 2));
    await new Promise((r) => setTimeout(r, 700));
    await service.update(reg.id, { address: reg.address, lifetime: 3 });
    await new Promise((r) => setTimeout(r, 1700)); // past the first lifetime (2.05 s after register), before the new one (~3.75 s)
    expect(events.some((e) => e.type === 'deregistration')).toBe(false);
    expect((await service.byId(reg.id))?.lifetime).toBe(3);
    const e = await next((x) => x.type === 'deregistration', 5000);
    expect(e).toMatchObject({ reason: 'expired', registration: { id: reg.id } });
  });

  it('expire(now) removes exactly the registrations whose time is up', async () => {
    const { service, events } = serviceWithEvents(0);
    service.stop(); // drive expire() by hand
    const now = Date.now();
    const a = await service.register(newRegistration('a', 10), now);
    await service.register(newRegistration('b', 100), now);
    expect(await service.expire(now + 9_999)).toEqual([]);
    const gone = await service.expire(now + 10_000);
    expect(gone.map((r) => r.id)).toEqual([a.id]);
    expect((await service.all()).map((r) => r.endpoint)).toEqual(['b']);
    expect(events.filter((e) => e.type === 'deregistration').map((e) => e.type === 'deregistration' && e.reason)).toEqual(['expired']);
  });
});

describe('lifetime expiry through the live server', () => {
  let live: LiveServer;

  it('a device registered over CoAP with lt=1 disappears from the API with reason expired', async () => {
    live = await startLiveServer({ expiryGraceMs: 100 });
    cleanups.push(() => live.close());
    const transport = await UdpTransport.open({ host: '127.0.0.1', port: 0 });
    const client = new CoapEndpoint({ transport, log: quietLogger });
    cleanups.push(() => client.close());
    const res = await client.request({ address: '127.0.0.1', port: live.port }, {
      method: Method.POST, path: ['rd'], query: ['ep=expire-me', 'lt=1', 'lwm2m=1.1'], payload: Buffer.from('</3/0>'), contentFormat: 40,
    });
    expect(res.code).toBe(65); // 2.01
    expect((await live.api.inject({ method: 'GET', url: '/devices/expire-me' })).statusCode).toBe(200);
    const e = await live.waitFor((x) => x.type === 'deregistration', 5000);
    expect(e).toMatchObject({ reason: 'expired', registration: { endpoint: 'expire-me' } });
    const gone = await live.api.inject({ method: 'GET', url: '/devices/expire-me' });
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ error: 'DEVICE_NOT_FOUND' });
  });
});

describe('a mass expiry', () => {
  it('2,000 registrations lapsing at once are removed in chunks with the event loop let go in between (issue 14)', async () => {
    const bus = new EventBus();
    let deregistered = 0;
    bus.on((e) => {
      if (e.type === 'deregistration' && e.reason === 'expired') deregistered++;
    });
    const service = new RegistrationService({ store: new MemoryRegistrationStore(), events: bus, log: quietLogger, expiryGraceMs: 0, sweepIntervalMs: 3_600_000 });
    cleanups.push(() => service.stop());
    const t0 = Date.now();
    for (let i = 0; i < 2000; i++) await service.register(newRegistration(`lapse-${i}`, 1), t0);
    // a macrotask that counts how often the event loop turns while the pass runs
    let turns = 0;
    let turning = true;
    const turn = (): void => {
      turns++;
      if (turning) setImmediate(turn);
    };
    setImmediate(turn);
    const gone = await service.expire(t0 + 2000);
    turning = false;
    expect(gone).toHaveLength(2000);
    expect(deregistered).toBe(2000);
    expect(await service.store.count()).toBe(0);
    // one turn per chunk of 100 at least: the pass never held the loop for all 2,000
    expect(turns).toBeGreaterThanOrEqual(2000 / 100 - 1);
  });
});
