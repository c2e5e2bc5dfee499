// The signature block format (docs/package-signing.md) against bytes written by hand and the
// Ed25519 test vectors of RFC 8032 §7.1; damaged blocks are reported, never trusted or thrown.
import { sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  appendSignatureBlock, ed25519PublicKey, encodeManifest, keyIdOf, signingInput, splitSignedPackage, verifySignedPackage,
} from '../../compiler/module/signed-package.ts';
import { verify } from 'node:crypto';
import { generateSigningKey } from '../../src/signing/signing-key.ts';
import { createRng } from '../helpers/prng.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('signed package block', () => {
  it('imports raw Ed25519 public keys as RFC 8032 §7.1 TEST 1 and TEST 2 expect', () => {
    const test1 = { pk: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', msg: '', sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b' };
    const test2 = { pk: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', msg: '72', sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00' };
    for (const v of [test1, test2]) {
      expect(verify(null, hex(v.msg), ed25519PublicKey(hex(v.pk)), hex(v.sig))).toBe(true);
      const bad = hex(v.sig);
      bad[0]! ^= 1;
      expect(verify(null, hex(v.msg), ed25519PublicKey(hex(v.pk)), bad)).toBe(false);
    }
  });

  it('lays the block out as documented: manifest, 64-byte signature, u32 length, u16 version 1, u16 0, "TMLS-SIG"', () => {
    const payload = new Uint8Array([0xde, 0xad, 0xbe, 0xef]);
    const manifest = new TextEncoder().encode('{"v":1}');
    const signature = new Uint8Array(64).fill(0xab);
    const out = appendSignatureBlock(payload, manifest, signature);
    const expected = Buffer.concat([
      hex('deadbeef'), Buffer.from('{"v":1}'), Buffer.alloc(64, 0xab),
      hex('07000000'), hex('0100'), hex('0000'), Buffer.from('TMLS-SIG'),
    ]);
    expect(Buffer.from(out).equals(expected)).toBe(true);
    // that manifest is too thin: reported as malformed, and the package is treated as unsigned bytes
    expect(splitSignedPackage(out).malformed).toMatch(/manifest field "digest"/);
  });

  it('round-trips a signed payload and names the key; key ids are the first 8 bytes of SHA-256(raw key)', () => {
    const key = generateSigningKey();
    expect(keyIdOf(hex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'))).toBe('21fe31dfa154a261');
    const payload = new TextEncoder().encode('firmware image bytes');
    const manifest = encodeManifest({ digest: '0'.repeat(64), name: 'fw', version: '2.1', kind: 'firmware', target: 'any', keyId: key.keyId });
    expect(new TextDecoder().decode(manifest)).toBe(`{"v":1,"digest":"${'0'.repeat(64)}","name":"fw","version":"2.1","kind":"firmware","target":"any","keyId":"${key.keyId}"}`);
    const real = encodeManifest({ digest: '9c6b9e0b5f1b3b0e0c2a1a6c2f8f3d1e4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d', name: 'fw', version: '2.1', kind: 'firmware', target: 'any', keyId: key.keyId });
    const bytes = appendSignatureBlock(payload, real, sign(null, signingInput(real), key.privateKey));
    // the manifest names another digest than the payload's: the signature holds, the check does not
    expect(verifySignedPackage(bytes, [key.publicKey])).toMatchObject({ ok: false, problem: 'digest-mismatch' });
    expect(verifySignedPackage(payload, [key.publicKey])).toMatchObject({ ok: false, problem: 'unsigned' });
  });

  it('never throws on damaged or random tails (fixed seed)', () => {
    const rng = createRng(1307);
    const key = generateSigningKey();
    for (let i = 0; i < 500; i++) {
      const len = 16 + Math.floor(rng.next() * 200);
      const bytes = new Uint8Array(len);
      for (let j = 0; j < len; j++) bytes[j] = Math.floor(rng.next() * 256);
      // half of them end in the magic, so the footer parser really runs
      if (i % 2 === 0) bytes.set(new TextEncoder().encode('TMLS-SIG'), len - 8);
      if (i % 4 === 0) bytes.set([0x01, 0x00], len - 12);
      const split = splitSignedPackage(bytes);
      expect(split.block === undefined || split.malformed === undefined).toBe(true);
      const v = verifySignedPackage(bytes, [key.publicKey]);
      expect(v.ok).toBe(false);
    }
  });
});
