// Stateless cookies for the HelloVerifyRequest (RFC 6347 §4.2.1): an HMAC over the client's
// address and the ClientHello fields that stay the same in its retry, under a secret rotated every
// few minutes (the previous secret is still accepted, so a rotation never fails a handshake in
// flight). The extensions are left out on purpose: Anjay adds a padding extension (21) only to
// its second ClientHello (DTLS-NOTES.md).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { u16 } from './bytes.ts';
import type { ClientHello } from './handshake-message.ts';

export class CookieJar {
  private current = randomBytes(32);
  private previous = randomBytes(32);
  private rotatedAt = Date.now();

  constructor(private readonly rotateMs = 5 * 60_000) {}

  private rotateIfDue(now: number): void {
    if (now - this.rotatedAt < this.rotateMs) return;
    this.previous = this.current;
    this.current = randomBytes(32);
    this.rotatedAt = now;
  }

  /** Forces a rotation (tests; or an operator who suspects a leaked secret). */
  rotate(): void {
    this.rotatedAt = 0;
    this.rotateIfDue(Date.now());
  }

  private mac(secret: Buffer, address: string, port: number, hello: ClientHello): Buffer {
    return createHmac('sha256', secret)
      .update(`${address}|${port}|`)
      .update(u16(hello.version))
      .update(hello.random)
      .update(hello.sessionId)
      .update(Buffer.from(hello.cipherSuites.flatMap((s) => [s >> 8, s & 0xff])))
      .update(hello.compressionMethods)
      .digest()
      .subarray(0, 16);
  }

  make(address: string, port: number, hello: ClientHello): Buffer {
    this.rotateIfDue(Date.now());
    return this.mac(this.current, address, port, hello);
  }

  verify(address: string, port: number, hello: ClientHello): boolean {
    this.rotateIfDue(Date.now());
    if (hello.cookie.length !== 16) return false;
    return timingSafeEqual(hello.cookie, this.mac(this.current, address, port, hello))
      || timingSafeEqual(hello.cookie, this.mac(this.previous, address, port, hello));
  }
}
