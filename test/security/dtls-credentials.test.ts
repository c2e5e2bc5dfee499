// The lookup the DTLS layer calls during a handshake (src/dtls meets the security store here).
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { dtlsCredentialsFromStore } from '../../src/security/dtls-credentials.ts';
import { MemorySecurityStore } from '../../src/security/memory-security-store.ts';
import { securityInfo } from '../../src/security/security-info.ts';
import { createRng } from '../helpers/prng.ts';

const rng = createRng(4279);

describe('dtlsCredentialsFromStore', () => {
  it('gives the PSK of a known identity (RFC 4279 §2), nothing for an unknown or non-UTF-8 identity', async () => {
    const store = MemorySecurityStore.memory();
    const key = rng.bytes(16);
    await store.put(securityInfo('dev', { mode: 'psk', identity: 'Client_identity', key: key.toString('hex') }));
    await store.put(securityInfo('plain', { mode: 'nosec' }));
    const creds = dtlsCredentialsFromStore(store);
    expect(await creds.pskKey(Buffer.from('Client_identity'))).toEqual(key);
    expect(await creds.pskKey(Buffer.from('client_identity'))).toBeUndefined();
    expect(await creds.pskKey(Buffer.from('plain'))).toBeUndefined();
    expect(await creds.pskKey(Buffer.alloc(0))).toBeUndefined();
    expect(await creds.pskKey(Buffer.from([0xc3, 0x28]))).toBeUndefined(); // invalid UTF-8
  });

  it('trusts a stored raw public key, whatever DER spelling the peer presents, and nothing else', async () => {
    const store = MemorySecurityStore.memory();
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    await store.put(securityInfo('rpk-dev', { mode: 'rpk', publicKey: spki.toString('base64') }));
    const creds = dtlsCredentialsFromStore(store);
    expect(await creds.rpkTrusted(spki)).toBe(true);
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' });
    expect(await creds.rpkTrusted(other)).toBe(false);
    expect(await creds.rpkTrusted(rng.bytes(91))).toBe(false);
    expect(await creds.rpkTrusted(Buffer.alloc(0))).toBe(false);
  });
});
