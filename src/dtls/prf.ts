// The TLS 1.2 pseudo-random function (RFC 5246 §5) with SHA-256, which every suite here uses
// (RFC 6655 §3 and RFC 7251 §2 for the CCM suites; RFC 5487 for PSK_WITH_AES_128_CBC_SHA256).
import { createHmac } from 'node:crypto';

export function hmacSha256(key: Buffer, ...data: Buffer[]): Buffer {
  const h = createHmac('sha256', key);
  for (const d of data) h.update(d);
  return h.digest();
}

/** P_SHA256(secret, label + seed), truncated to length bytes. */
export function prf(secret: Buffer, label: string, seed: Buffer, length: number): Buffer {
  const labelSeed = Buffer.concat([Buffer.from(label, 'ascii'), seed]);
  const out: Buffer[] = [];
  let total = 0;
  let a: Buffer = labelSeed; // A(0)
  while (total < length) {
    a = hmacSha256(secret, a); // A(i) = HMAC(secret, A(i-1))
    const block = hmacSha256(secret, a, labelSeed);
    out.push(block);
    total += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}
