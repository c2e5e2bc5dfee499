// The RegistrationStore contract, run unchanged against every implementation (memory, Redis).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Registration } from '../../src/registration/registration.ts';
import type { RegistrationStore } from '../../src/store/registration-store.ts';

export type StoreFixture = {
  /** a fresh, empty store */
  store(): Promise<RegistrationStore>;
  /** a second handle on the same data, as another server node would have (the same object for memory) */
  peer(): Promise<RegistrationStore>;
  close(): Promise<void>;
};

let seq = 0;
export function registration(endpoint: string, over: Partial<Registration> = {}): Registration {
  const now = 1_700_000_000_000;
  return {
    id: `id-${++seq}-${endpoint}`,
    endpoint,
    lwm2mVersion: '1.1',
    lifetime: 300,
    binding: 'U',
    queueMode: false,
    rootPath: '',
    objectLinks: [{ path: [3, 0], attributes: {} }, { path: [5], attributes: { ver: '1.0' } }, { path: [1, 0], attributes: { ssid: '123', flag: true } }],
    contentFormats: [110, 112],
    objectVersions: { 3: '1.2' },
    address: { address: '127.0.0.1', port: 40000 + (seq % 20000) },
    registeredAt: now,
    lastUpdate: now,
    expiresAt: now + 300_000,
    additional: { foo: 'bar' },
    ...over,
  };
}

export function registrationStoreContract(name: string, setup: () => Promise<StoreFixture>): void {
  describe(`RegistrationStore contract: ${name}`, () => {
    let fx: StoreFixture;
    let store: RegistrationStore;
    beforeAll(async () => {
      fx = await setup();
    });
    afterAll(async () => fx.close());
    beforeEach(async () => {
      store = await fx.store();
    });

    it('adds a registration and finds it by id and endpoint, field for field', async () => {
      const reg = registration('a', { smsNumber: '+123', queueMode: true, binding: 'UQ' });
      expect(await store.add(reg)).toBeUndefined();
      expect(await store.byId(reg.id)).toEqual(reg);
      expect(await store.byEndpoint('a')).toEqual(reg);
      expect(await store.count()).toBe(1);
      expect(await store.all()).toEqual([reg]);
    });

    it('answers undefined for unknown ids and endpoints', async () => {
      expect(await store.byId('nope')).toBeUndefined();
      expect(await store.byEndpoint('nope')).toBeUndefined();
      expect(await store.remove('nope')).toBeUndefined();
      expect(await store.update(registration('ghost'))).toBeUndefined();
      expect(await store.byEndpoint('ghost')).toBeUndefined();
      expect(await store.count()).toBe(0);
    });

    it('replaces the registration of the same endpoint and returns the old one', async () => {
      const first = registration('dev');
      const second = registration('dev', { address: { address: '127.0.0.1', port: 1 } });
      await store.add(first);
      expect(await store.add(second)).toEqual(first);
      expect(await store.byId(first.id)).toBeUndefined();
      expect(await store.byEndpoint('dev')).toEqual(second);
      expect(await store.count()).toBe(1);
      // the replaced one no longer expires from the index
      expect((await store.expired(Number.MAX_SAFE_INTEGER)).map((r) => r.id)).toEqual([second.id]);
    });

    it('updates by id and returns the previous version; a replaced id cannot be updated', async () => {
      const reg = registration('u');
      await store.add(reg);
      const updated = { ...reg, lifetime: 600, lastUpdate: reg.lastUpdate + 1000, expiresAt: reg.expiresAt + 600_000 };
      expect(await store.update(updated)).toEqual(reg);
      expect(await store.byEndpoint('u')).toEqual(updated);
      const replacement = registration('u');
      await store.add(replacement);
      expect(await store.update({ ...updated, lifetime: 9 })).toBeUndefined();
      expect(await store.byEndpoint('u')).toEqual(replacement);
    });

    it('removes by id; a stale id does not remove the newer registration of the endpoint', async () => {
      const old = registration('r');
      await store.add(old);
      const fresh = registration('r');
      await store.add(fresh);
      expect(await store.remove(old.id)).toBeUndefined();
      expect(await store.byEndpoint('r')).toEqual(fresh);
      expect(await store.remove(fresh.id)).toEqual(fresh);
      expect(await store.byEndpoint('r')).toBeUndefined();
      expect(await store.count()).toBe(0);
      expect(await store.expired(Number.MAX_SAFE_INTEGER)).toEqual([]);
    });

    it('lists expired registrations by expiresAt, moving with updates', async () => {
      const a = registration('e1', { expiresAt: 1000 });
      const b = registration('e2', { expiresAt: 2000 });
      const c = registration('e3', { expiresAt: 3000 });
      for (const r of [a, b, c]) await store.add(r);
      expect((await store.expired(999))).toEqual([]);
      expect((await store.expired(2000)).map((r) => r.endpoint).sort()).toEqual(['e1', 'e2']);
      await store.update({ ...a, expiresAt: 5000 });
      expect((await store.expired(2000)).map((r) => r.endpoint)).toEqual(['e2']);
      expect((await store.expired(5000)).map((r) => r.endpoint).sort()).toEqual(['e1', 'e2', 'e3']);
    });

    it('keeps many devices apart', async () => {
      const regs = Array.from({ length: 200 }, (_, i) => registration(`many-${i}`));
      await Promise.all(regs.map((r) => store.add(r)));
      expect(await store.count()).toBe(200);
      expect((await store.all()).map((r) => r.endpoint).sort()).toEqual(regs.map((r) => r.endpoint).sort());
      expect(await store.byEndpoint('many-117')).toEqual(regs[117]);
    });

    it('two nodes racing to register the same endpoints leave one registration each and a consistent index', async () => {
      const other = await fx.peer();
      const endpoints = Array.from({ length: 20 }, (_, i) => `race-${i}`);
      const attempts = endpoints.flatMap((ep) => Array.from({ length: 10 }, () => registration(ep)));
      const replaced: (Registration | undefined)[] = await Promise.all(attempts.map((r, i) => (i % 2 === 0 ? store : other).add(r)));
      expect(await store.count()).toBe(endpoints.length);
      for (const ep of endpoints) {
        const winner = await other.byEndpoint(ep);
        expect(winner).toBeDefined();
        expect(await store.byId(winner!.id)).toEqual(winner);
      }
      // every add but the first of each endpoint replaced exactly one earlier registration, none twice
      const replacedIds = replaced.filter((r): r is Registration => r !== undefined).map((r) => r.id);
      expect(replacedIds).toHaveLength(attempts.length - endpoints.length);
      expect(new Set(replacedIds).size).toBe(replacedIds.length);
      expect((await store.expired(Number.MAX_SAFE_INTEGER))).toHaveLength(endpoints.length);
    });

    it('two nodes removing the same registration: exactly one gets it', async () => {
      const other = await fx.peer();
      const regs = Array.from({ length: 30 }, (_, i) => registration(`rm-${i}`));
      for (const r of regs) await store.add(r);
      const results = await Promise.all(regs.flatMap((r) => [store.remove(r.id), other.remove(r.id)]));
      expect(results.filter((r) => r !== undefined)).toHaveLength(regs.length);
      expect(await store.count()).toBe(0);
    });

    it('pages every registration exactly once, in byte order of the UTF-8 names, also while some are removed', async () => {
      // fixed names written by hand: ASCII, Latin-1, CJK and an astral character (byte order
      // differs from UTF-16 order there: U+FF5E sorts before U+1F600 in UTF-16 and in UTF-8 alike,
      // but U+E000 > U+D83D in UTF-16 while its UTF-8 sorts first)
      const names = ['a', 'b', 'B', 'dev-10', 'dev-2', 'dev-\u00e9', '\u6f22\u5b57', '\uff5e', '\ud83d\ude00', '\ue000', 'z'];
      for (let i = 0; i < 60; i++) names.push(`n-${String(i).padStart(3, '0')}`);
      for (const n of names) await store.add(registration(n));
      const expected = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      const seen: string[] = [];
      let after: string | undefined;
      for (let pages = 0; pages < 100; pages++) {
        const page = await store.page(after, 7);
        expect(page.registrations.length).toBeLessThanOrEqual(7);
        seen.push(...page.registrations.map((r) => r.endpoint));
        if (page.next === undefined) break;
        after = page.next;
      }
      expect(seen).toEqual(expected);
      expect(seen.indexOf('\ue000')).toBeLessThan(seen.indexOf('\ud83d\ude00'));
      // removing names already passed and still ahead: the rest is listed once, the removed never
      const half = await store.page(undefined, 30);
      for (const r of [half.registrations[3]!, ...(await store.page(half.next, 5)).registrations]) await store.remove(r.id);
      const rest: string[] = [];
      let cursor = half.next;
      while (cursor !== undefined) {
        const p = await store.page(cursor, 10);
        rest.push(...p.registrations.map((r) => r.endpoint));
        cursor = p.next;
      }
      expect(rest).toEqual(expected.slice(35));
      expect((await store.page(undefined, 1000)).registrations).toHaveLength(names.length - 6);
    });
  });
}
