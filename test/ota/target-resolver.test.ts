// A deployment's targets read page by page from the endpoint index (issue 14), on both stores:
// a prefix reads only its own range; explicit names are looked up; nothing is loaded at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTargets } from '../../src/ota/target-resolver.ts';
import { MemoryRegistrationStore } from '../../src/store/memory-registration-store.ts';
import { RedisRegistrationStore } from '../../src/store/redis-registration-store.ts';
import type { RegistrationPage, RegistrationStore } from '../../src/store/registration-store.ts';
import { createRng } from '../helpers/prng.ts';
import { startRedis, type Service } from '../support/services.ts';
import { registration } from '../store/registration-store.contract.ts';

// names chosen so that a prefix's neighbours sort right before and after its range
const NAMES = ['dev', 'dev-', 'dev-0', 'dev-1', 'dev-10', 'dev-2', 'dev.', 'dev0', 'dea', 'ab', 'ü-dev', 'dev-\u00e9'];
const EXTRA = 2500; // more than two pages of 1,000

/** Counts the registrations the resolver read through page(), and refuses all(). */
function counting(store: RegistrationStore): { store: RegistrationStore; read: () => number } {
  let read = 0;
  const wrapped: RegistrationStore = Object.create(store) as RegistrationStore;
  wrapped.page = async (after, limit): Promise<RegistrationPage> => {
    const p = await store.page(after, limit);
    read += p.registrations.length;
    return p;
  };
  wrapped.all = async () => {
    throw new Error('all() must not be called');
  };
  return { store: wrapped, read: () => read };
}

let redis: Service;
let stores: [string, RegistrationStore][];
beforeAll(async () => {
  redis = await startRedis();
  const rs = await new RedisRegistrationStore({ url: redis.url, keyPrefix: 'resolver:' }).connect();
  stores = [['memory', new MemoryRegistrationStore()], ['redis', rs]];
  const rng = createRng(77);
  const extra = Array.from({ length: EXTRA }, (_, i) => `zz-${String(i).padStart(5, '0')}-${rng.int(1000)}`);
  for (const [, s] of stores) {
    for (let i = 0; i < extra.length; i += 500) await Promise.all(extra.slice(i, i + 500).map((e) => s.add(registration(e))));
    for (const e of NAMES) await s.add(registration(e));
  }
}, 60_000);
afterAll(async () => {
  for (const [, s] of stores ?? []) await s.close?.();
  await redis?.stop();
});

describe('resolveTargets', () => {
  it('a prefix: exactly the names that start with it, in byte order, reading only its range', async () => {
    for (const [kind, s] of stores) {
      const c = counting(s);
      const got = await resolveTargets(c.store, { prefix: 'dev-' });
      expect(got, kind).toEqual(['dev-', 'dev-0', 'dev-1', 'dev-10', 'dev-2', 'dev-\u00e9']);
      expect(c.read(), kind).toBeLessThan(1000 + 1); // one page, not the 2,500 others
      expect(await resolveTargets(c.store, { prefix: 'dev' }), kind).toEqual(['dev', 'dev-', 'dev-0', 'dev-1', 'dev-10', 'dev-2', 'dev-\u00e9', 'dev.', 'dev0']);
      expect(await resolveTargets(c.store, { prefix: 'nothing' }), kind).toEqual([]);
    }
  });

  it('explicit names: the registered ones (also within a prefix), duplicates once; no selector: every device across pages', async () => {
    for (const [kind, s] of stores) {
      const c = counting(s);
      expect(await resolveTargets(c.store, { endpoints: ['dev-2', 'ab', 'missing', 'ab'] }), kind).toEqual(['ab', 'dev-2']);
      expect(await resolveTargets(c.store, { endpoints: ['dev-2', 'ab'], prefix: 'dev' }), kind).toEqual(['dev-2']);
      const everything = await resolveTargets(c.store, {});
      expect(everything.length, kind).toBe(EXTRA + NAMES.length);
      expect(new Set(everything).size, kind).toBe(everything.length);
      expect(everything.slice(0, 3), kind).toEqual(['ab', 'dea', 'dev']);
      expect(everything.at(-1), kind).toBe('ü-dev'); // 0xc3 sorts after 'z' in UTF-8 bytes
    }
  });
});
