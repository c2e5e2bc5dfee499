// The anti-replay sliding window (RFC 6347 §4.1.2.6): a record is accepted once per epoch. The
// window is checked before decryption and marked only after the record authenticated, so a forged
// record cannot shift it.

const WINDOW = 64n;

export class ReplayWindow {
  private highest = -1;
  /** bit i set: highest - i was received */
  private bits = 0n;

  /** whether seq could be fresh (not seen and not left of the window) */
  mayAccept(seq: number): boolean {
    if (seq > this.highest) return true;
    const offset = BigInt(this.highest - seq);
    if (offset >= WINDOW) return false;
    return ((this.bits >> offset) & 1n) === 0n;
  }

  mark(seq: number): void {
    if (seq > this.highest) {
      const shift = BigInt(seq - this.highest);
      this.bits = shift >= WINDOW ? 1n : ((this.bits << shift) | 1n) & ((1n << WINDOW) - 1n);
      this.highest = seq;
      return;
    }
    const offset = BigInt(this.highest - seq);
    if (offset < WINDOW) this.bits |= 1n << offset;
  }
}
