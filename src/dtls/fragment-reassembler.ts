// Reassembles handshake messages from fragments (RFC 6347 §4.2.3): fragments may overlap, come
// out of order or repeat. Bounded: a message larger than maxMessage, or more pending messages than
// maxPending, is refused, so a hostile peer cannot make it grow.
import { encodeHandshake, type HandshakeFragment } from './handshake-message.ts';

type Pending = { msgType: number; length: number; body: Buffer; have: Uint8Array; filled: number };

export type Reassembled = { msgType: number; messageSeq: number; body: Buffer; /** header + body, unfragmented */ whole: Buffer };

export class FragmentReassembler {
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly maxMessage = 16 * 1024, private readonly maxPending = 4) {}

  /** The whole message once its last missing fragment arrived; undefined otherwise or when refused. */
  add(f: HandshakeFragment): Reassembled | { error: string } | undefined {
    if (f.length > this.maxMessage) return { error: `handshake message of ${f.length} bytes (limit ${this.maxMessage})` };
    if (f.fragmentOffset === 0 && f.body.length === f.length) {
      this.pending.delete(f.messageSeq);
      return { msgType: f.msgType, messageSeq: f.messageSeq, body: f.body, whole: encodeHandshake(f.msgType, f.messageSeq, f.body) };
    }
    let p = this.pending.get(f.messageSeq);
    if (!p) {
      if (this.pending.size >= this.maxPending) return { error: 'too many partial handshake messages' };
      p = { msgType: f.msgType, length: f.length, body: Buffer.alloc(f.length), have: new Uint8Array(f.length), filled: 0 };
      this.pending.set(f.messageSeq, p);
    }
    if (p.msgType !== f.msgType || p.length !== f.length) return { error: 'fragment disagrees with earlier fragments of its message' };
    f.body.copy(p.body, f.fragmentOffset);
    for (let i = f.fragmentOffset; i < f.fragmentOffset + f.body.length; i++) {
      if (!p.have[i]) {
        p.have[i] = 1;
        p.filled++;
      }
    }
    if (p.filled < p.length) return undefined;
    this.pending.delete(f.messageSeq);
    return { msgType: p.msgType, messageSeq: f.messageSeq, body: p.body, whole: encodeHandshake(p.msgType, f.messageSeq, p.body) };
  }

  clear(): void {
    this.pending.clear();
  }
}

