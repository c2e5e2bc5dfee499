import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ expiryGraceMs: 200 });
});
afterAll(async () => h.close());

describe('registration interface (end to end over UDP)', () => {
  it('registers a simulated device with its objects, versions and content formats', async () => {
    const c = await h.client('reg-1');
    const res = await h.api.inject({ method: 'GET', url: '/devices/reg-1' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.registrationId).toBe(c.registrationId);
    expect(body.lwm2mVersion).toBe('1.1');
    expect(body.address).toBe(`127.0.0.1:${c.address.port}`);
    expect(body.contentFormats).toEqual([112, 110, 11542]);
    const paths = body.objectLinks.map((l: { path: string }) => l.path);
    expect(paths).toEqual(expect.arrayContaining(['/1/0', '/3/0', '/4/0', '/5/0', '/9']));
    expect(body.objectVersions['3']).toBe(h.server.models.object(3)!.version);
    const ev = await h.waitFor((e) => e.type === 'registration' && e.registration.endpoint === 'reg-1');
    expect(ev.type).toBe('registration');
  });

  it('updates the registration (lifetime, new objects) and emits an update event', async () => {
    const c = await h.client('reg-2', { lifetime: 100 });
    c.store.setInstance(9, 0, { 0: 'model', 1: '1.0', 7: 0, 9: 0, 12: false });
    await c.update({ lifetime: 200, withLinks: true });
    const reg = await h.server.registrations.byEndpoint('reg-2');
    expect(reg?.lifetime).toBe(200);
    expect(reg?.objectLinks.some((l) => l.path.join('/') === '9/0')).toBe(true);
    await h.waitFor((e) => e.type === 'update' && e.registration.endpoint === 'reg-2');
  });

  it('removes a device whose lifetime expires and says so', async () => {
    const c = await h.client('reg-expiring', { lifetime: 1, autoUpdate: false });
    expect(c.registered).toBe(true);
    const ev = await h.waitFor((e) => e.type === 'deregistration' && e.registration.endpoint === 'reg-expiring', 8000);
    expect(ev.type === 'deregistration' && ev.reason).toBe('expired');
    expect((await h.api.inject({ method: 'GET', url: '/devices/reg-expiring' })).statusCode).toBe(404);
  });

  it('de-registers', async () => {
    const c = await h.client('reg-3');
    await c.deregister();
    const ev = await h.waitFor((e) => e.type === 'deregistration' && e.registration.endpoint === 'reg-3');
    expect(ev.type === 'deregistration' && ev.reason).toBe('deregistered');
    expect(await h.server.registrations.byEndpoint('reg-3')).toBeUndefined();
  });

  it('replaces the registration when the same endpoint registers again from a new port (reboot)', async () => {
    const c = await h.client('reg-4');
    const firstPort = c.address.port;
    const firstId = c.registrationId;
    await c.reboot();
    expect(c.address.port).not.toBe(firstPort);
    const reg = await h.server.registrations.byEndpoint('reg-4');
    expect(reg?.id).not.toBe(firstId);
    expect(reg?.address.port).toBe(c.address.port);
    expect((await h.server.registrations.all()).filter((r) => r.endpoint === 'reg-4')).toHaveLength(1);
    // requests go to the new address
    const read = await h.api.inject({ method: 'GET', url: '/devices/reg-4/data/3/0/2' });
    expect(read.json().node.value).toBe('SN-reg-4');
  });

  it('accepts an alternate root path and a 1.0 client that declares no formats', async () => {
    await h.client('reg-root', { rootPath: '/lwm2m', lwm2mVersion: '1.0', contentFormats: [] });
    const reg = await h.server.registrations.byEndpoint('reg-root');
    expect(reg?.rootPath).toBe('/lwm2m');
    expect(reg?.lwm2mVersion).toBe('1.0');
    const read = await h.api.inject({ method: 'GET', url: '/devices/reg-root/data/3/0' });
    expect(read.json().success).toBe(true);
    expect(read.json().contentFormat).toBe(11542); // TLV: the 1.0 default
  });
});
