// Record payload protection for one direction of one epoch: AEAD (AES-CCM with an 8-byte tag,
// RFC 6655 §3; AES-GCM, RFC 5288 §3) or AES-CBC with HMAC-SHA256 (RFC 5246 §6.2.3.2). The
// additional data / MAC input is epoch||seq, type, version, length (RFC 6347 §4.1.2.1), or the
// RFC 9146 §5 form for tls12_cid records.
import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import { u16, u8 } from './bytes.ts';
import type { BulkCipher } from './cipher-suites.ts';
import { hmacSha256 } from './prf.ts';
import { ContentType, epochSeq } from './record.ts';

export type ProtectionKeys = { cipher: BulkCipher; encKey: Buffer; macKey: Buffer; fixedIv: Buffer };

export type RecordMeta = { type: number; version: number; epoch: number; seq: number; cid?: Buffer };

const EXPLICIT_NONCE = 8;

/** The bytes the MAC or AEAD tag covers besides the plaintext. */
function additionalData(m: RecordMeta, plaintextLength: number): Buffer {
  if (m.cid) {
    // RFC 9146 §5: seq_num_placeholder, tls12_cid, cid_length, tls12_cid, version, epoch, seq, cid, length
    return Buffer.concat([
      Buffer.alloc(8, 0xff), u8(ContentType.tls12Cid), u8(m.cid.length), u8(ContentType.tls12Cid),
      u16(m.version), epochSeq(m.epoch, m.seq), m.cid, u16(plaintextLength),
    ]);
  }
  // RFC 6347 §4.1.2.1: epoch||seq (8), type, version, length: 13 bytes written in place (hot path)
  const aad = Buffer.allocUnsafe(13);
  aad.writeUInt16BE(m.epoch, 0);
  aad.writeUIntBE(m.seq, 2, 6);
  aad[8] = m.type;
  aad.writeUInt16BE(m.version, 9);
  aad.writeUInt16BE(plaintextLength, 11);
  return aad;
}

/** fixed_iv (4) || epoch (2) || seq (6): the AEAD nonce (RFC 6655 §3, RFC 5288 §3). */
function aeadNonce(fixedIv: Buffer, explicit: Buffer): Buffer {
  const nonce = Buffer.allocUnsafe(fixedIv.length + EXPLICIT_NONCE);
  fixedIv.copy(nonce, 0);
  explicit.copy(nonce, fixedIv.length, 0, EXPLICIT_NONCE);
  return nonce;
}

/**
 * The protected fragment. With `headerRoom`, the returned buffer starts with that many unwritten
 * bytes for the record header, so the record is built with one copy of the data (the hot path:
 * every datagram of a session goes through here).
 */
export function protect(k: ProtectionKeys, m: RecordMeta, plaintext: Buffer, headerRoom = 0): Buffer {
  if (k.cipher === 'aes-128-cbc-sha256') {
    const mac = hmacSha256(k.macKey, additionalData(m, plaintext.length), plaintext);
    const unpadded = plaintext.length + mac.length + 1;
    const padLength = (16 - (unpadded % 16)) % 16;
    const padding = Buffer.alloc(padLength + 1, padLength);
    const iv = randomBytes(16);
    const c = createCipheriv('aes-128-cbc', k.encKey, iv).setAutoPadding(false);
    return Buffer.concat([Buffer.alloc(headerRoom), iv, c.update(Buffer.concat([plaintext, mac, padding])), c.final()]);
  }
  const tagLength = k.cipher === 'aes-128-ccm8' ? 8 : 16;
  const out = Buffer.allocUnsafe(headerRoom + EXPLICIT_NONCE + plaintext.length + tagLength);
  // RFC 6655 §3 / DTLS-NOTES: explicit nonce = epoch||seq
  const explicit = out.subarray(headerRoom, headerRoom + EXPLICIT_NONCE);
  explicit.writeUInt16BE(m.epoch, 0);
  explicit.writeUIntBE(m.seq, 2, 6);
  const nonce = aeadNonce(k.fixedIv, explicit);
  const aad = additionalData(m, plaintext.length);
  let c;
  if (k.cipher === 'aes-128-ccm8') {
    c = createCipheriv('aes-128-ccm', k.encKey, nonce, { authTagLength: 8 });
    c.setAAD(aad, { plaintextLength: plaintext.length });
  } else {
    c = createCipheriv('aes-128-gcm', k.encKey, nonce);
    c.setAAD(aad);
  }
  let p = headerRoom + EXPLICIT_NONCE;
  p += c.update(plaintext).copy(out, p);
  p += c.final().copy(out, p);
  c.getAuthTag().copy(out, p);
  return out;
}

/** The plaintext, or undefined when the record does not authenticate (bad_record_mac). */
export function unprotect(k: ProtectionKeys, m: RecordMeta, fragment: Buffer): Buffer | undefined {
  try {
    if (k.cipher === 'aes-128-cbc-sha256') return unprotectCbc(k, m, fragment);
    const tagLength = k.cipher === 'aes-128-ccm8' ? 8 : 16;
    if (fragment.length < EXPLICIT_NONCE + tagLength) return undefined;
    const explicit = fragment.subarray(0, EXPLICIT_NONCE);
    const body = fragment.subarray(EXPLICIT_NONCE, fragment.length - tagLength);
    const tag = fragment.subarray(fragment.length - tagLength);
    const nonce = aeadNonce(k.fixedIv, explicit);
    const aad = additionalData(m, body.length);
    if (k.cipher === 'aes-128-ccm8') {
      const d = createDecipheriv('aes-128-ccm', k.encKey, nonce, { authTagLength: 8 });
      d.setAuthTag(tag);
      d.setAAD(aad, { plaintextLength: body.length });
      const out = d.update(body);
      d.final();
      return out;
    }
    const d = createDecipheriv('aes-128-gcm', k.encKey, nonce);
    d.setAuthTag(tag);
    d.setAAD(aad);
    const out = d.update(body);
    d.final(); // GCM is a stream mode: final() yields no bytes, it checks the tag
    return out;
  } catch {
    return undefined; // authentication failed
  }
}

function unprotectCbc(k: ProtectionKeys, m: RecordMeta, fragment: Buffer): Buffer | undefined {
  // IV, then at least one block holding MAC (32) and the padding length byte
  if (fragment.length < 16 + 48 || fragment.length % 16 !== 0) return undefined;
  const d = createDecipheriv('aes-128-cbc', k.encKey, fragment.subarray(0, 16)).setAutoPadding(false);
  const plain = Buffer.concat([d.update(fragment.subarray(16)), d.final()]);
  const padLength = plain[plain.length - 1]!;
  // RFC 5246 §6.2.3.2: every padding byte holds the padding length. Bad padding is treated as a
  // MAC failure, and the MAC is computed either way so both fail alike (Lucky 13 mitigation, in part)
  let padOk = padLength + 1 + 32 <= plain.length;
  const effectivePad = padOk ? padLength : 0;
  for (let i = 0; i <= effectivePad; i++) if (plain[plain.length - 1 - i] !== padLength) padOk = false;
  const contentLength = plain.length - 32 - (padOk ? padLength + 1 : 1);
  const content = plain.subarray(0, contentLength);
  const mac = plain.subarray(contentLength, contentLength + 32);
  const expected = hmacSha256(k.macKey, additionalData(m, content.length), content);
  const macOk = timingSafeEqual(mac, expected);
  return padOk && macOk ? content : undefined;
}
