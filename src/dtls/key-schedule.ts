// From premaster secret to record keys (RFC 5246 §8.1, §6.3; RFC 7627 §4 extended master
// secret; RFC 4279 §2 PSK premaster secret) and the Finished verify_data (RFC 5246 §7.4.9).
import { createHash } from 'node:crypto';
import { u16 } from './bytes.ts';
import { keySizes, type BulkCipher } from './cipher-suites.ts';
import { prf } from './prf.ts';
import type { ProtectionKeys } from './record-protection.ts';

/** RFC 4279 §2: uint16 N, N zero bytes, uint16 N, the PSK (plain PSK: "other_secret" is zeros). */
export function pskPremaster(psk: Buffer): Buffer {
  return Buffer.concat([u16(psk.length), Buffer.alloc(psk.length), u16(psk.length), psk]);
}

export function masterSecret(premaster: Buffer, clientRandom: Buffer, serverRandom: Buffer): Buffer {
  return prf(premaster, 'master secret', Buffer.concat([clientRandom, serverRandom]), 48);
}

/** RFC 7627 §4: the session hash covers the handshake up to and including ClientKeyExchange. */
export function extendedMasterSecret(premaster: Buffer, sessionHash: Buffer): Buffer {
  return prf(premaster, 'extended master secret', sessionHash, 48);
}

export function transcriptHash(messages: readonly Buffer[]): Buffer {
  const h = createHash('sha256');
  for (const m of messages) h.update(m);
  return h.digest();
}

export type KeyBlock = { client: ProtectionKeys; server: ProtectionKeys };

export function keyBlock(master: Buffer, clientRandom: Buffer, serverRandom: Buffer, cipher: BulkCipher): KeyBlock {
  const s = keySizes(cipher);
  const block = prf(master, 'key expansion', Buffer.concat([serverRandom, clientRandom]), 2 * (s.macKey + s.encKey + s.fixedIv));
  let p = 0;
  const take = (n: number): Buffer => block.subarray(p, (p += n));
  const clientMac = take(s.macKey);
  const serverMac = take(s.macKey);
  const clientKey = take(s.encKey);
  const serverKey = take(s.encKey);
  const clientIv = take(s.fixedIv);
  const serverIv = take(s.fixedIv);
  return {
    client: { cipher, encKey: clientKey, macKey: clientMac, fixedIv: clientIv },
    server: { cipher, encKey: serverKey, macKey: serverMac, fixedIv: serverIv },
  };
}

export function finishedVerifyData(master: Buffer, role: 'client' | 'server', messages: readonly Buffer[]): Buffer {
  return prf(master, `${role} finished`, transcriptHash(messages), 12);
}
