// The SecurityStore contract, run unchanged against memory, the data dir (JSON file) and Redis.
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { securityInfo, type SecurityInfo } from '../../src/security/security-info.ts';
import { NonUniqueSecurityInfoError, type SecurityStore } from '../../src/security/security-store.ts';
import { createRng } from '../helpers/prng.ts';

export type SecurityStoreFixture = {
  /** a fresh, empty store */
  store(): Promise<SecurityStore>;
  /** another handle on the same data (a second node; a reopened file); undefined for memory */
  reopen(): Promise<SecurityStore | undefined>;
  /** true when two handles may write at once (Redis: two nodes); a data dir has one writer */
  sharedWriters: boolean;
  close(): Promise<void>;
};

const rng = createRng(1212);
export const pskOf = (endpoint: string, identity = `id-${endpoint}`): SecurityInfo => securityInfo(endpoint, { mode: 'psk', identity, key: rng.bytes(16).toString('hex') });
export function rpkOf(endpoint: string): SecurityInfo {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return securityInfo(endpoint, { mode: 'rpk', publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64') });
}

export function securityStoreContract(name: string, setup: () => Promise<SecurityStoreFixture>): void {
  describe(`SecurityStore contract: ${name}`, () => {
    let fx: SecurityStoreFixture;
    let store: SecurityStore;
    beforeAll(async () => {
      fx = await setup();
    });
    afterAll(async () => fx.close());
    beforeEach(async () => {
      store = await fx.store();
    });

    it('stores each mode and finds it by endpoint, PSK identity and public key', async () => {
      const psk = pskOf('dev-psk');
      const rpk = rpkOf('dev-rpk');
      const x509 = securityInfo('dev-x509', { mode: 'x509', subject: 'CN-dev' });
      const nosec = securityInfo('dev-plain', { mode: 'nosec' });
      for (const i of [psk, rpk, x509, nosec]) expect(await store.put(i)).toBeUndefined();
      expect(await store.get('dev-psk')).toEqual(psk);
      expect(await store.byPskIdentity('id-dev-psk')).toEqual(psk);
      expect(await store.byPublicKey((rpk as { publicKey: string }).publicKey)).toEqual(rpk);
      expect(await store.get('dev-x509')).toEqual(x509);
      expect(await store.get('dev-plain')).toEqual(nosec);
      expect((await store.all()).map((i) => i.endpoint).sort()).toEqual(['dev-plain', 'dev-psk', 'dev-rpk', 'dev-x509']);
      expect(await store.get('nobody')).toBeUndefined();
      expect(await store.byPskIdentity('nobody')).toBeUndefined();
      expect(await store.byPublicKey('AAAA')).toBeUndefined();
    });

    it('replacing an endpoint\'s info frees its old identity and returns the previous info', async () => {
      const first = pskOf('rot', 'old-identity');
      await store.put(first);
      const second = pskOf('rot', 'new-identity');
      expect(await store.put(second)).toEqual(first);
      expect(await store.byPskIdentity('old-identity')).toBeUndefined();
      expect(await store.byPskIdentity('new-identity')).toEqual(second);
      // the freed identity may go to another endpoint now
      expect(await store.put(pskOf('other', 'old-identity'))).toBeUndefined();
      // a mode change drops the identity index as well
      const rpk = rpkOf('rot');
      expect(await store.put(rpk)).toEqual(second);
      expect(await store.byPskIdentity('new-identity')).toBeUndefined();
    });

    it('refuses a PSK identity or public key that belongs to another endpoint, and changes nothing', async () => {
      const a = pskOf('a', 'shared');
      await store.put(a);
      const err = await store.put(pskOf('b', 'shared')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NonUniqueSecurityInfoError);
      expect((err as NonUniqueSecurityInfoError).owner).toBe('a');
      expect(await store.get('b')).toBeUndefined();
      expect(await store.byPskIdentity('shared')).toEqual(a);
      const r = rpkOf('r1');
      await store.put(r);
      const err2 = await store.put({ ...r, endpoint: 'r2' }).catch((e: unknown) => e);
      expect(err2).toBeInstanceOf(NonUniqueSecurityInfoError);
      expect((err2 as NonUniqueSecurityInfoError).what).toBe('publicKey');
      expect(await store.get('r2')).toBeUndefined();
    });

    it('removes an endpoint and its index entries', async () => {
      const p = pskOf('gone');
      await store.put(p);
      expect(await store.remove('gone')).toEqual(p);
      expect(await store.remove('gone')).toBeUndefined();
      expect(await store.get('gone')).toBeUndefined();
      expect(await store.byPskIdentity('id-gone')).toBeUndefined();
      expect(await store.all()).toEqual([]);
    });

    it('keeps what it stored across a reopen (another node, a restart) where the store persists', async () => {
      const infos = Array.from({ length: 50 }, (_, i) => (i % 5 === 0 ? rpkOf(`p-${i}`) : pskOf(`p-${i}`)));
      for (const i of infos) await store.put(i);
      await store.remove('p-3');
      const again = await fx.reopen();
      if (!again) return; // memory: nothing to reopen
      expect(await again.get('p-7')).toEqual(infos[7]);
      expect(await again.byPskIdentity('id-p-8')).toEqual(infos[8]);
      expect(await again.get('p-3')).toBeUndefined();
      expect((await again.all()).length).toBe(49);
    });

    it('two writers racing for one identity leave exactly one owner', async () => {
      const other = fx.sharedWriters ? (await fx.reopen())! : store;
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => (i % 2 ? other : store).put(pskOf(`race-${i}`, 'contested'))));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const owner = await store.byPskIdentity('contested');
      expect(owner).toBeDefined();
      expect((await store.all()).filter((i) => i.endpoint.startsWith('race-')).map((i) => i.endpoint)).toEqual([owner!.endpoint]);
    });
  });
}
