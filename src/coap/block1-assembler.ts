// Server side of Block1 transfers (RFC 7959 §2.5): reassembles a request body block by block,
// with a size limit (4.13 + Size1, §2.9.3) and strict ordering (4.08 on a gap, §2.9.2).
// Reassemblies are bounded per peer, in number and in bytes overall: RFC 7959 §2.4 lets a server
// refuse to keep state it cannot afford; a transfer past a bound is refused as an overload
// (5.03 with Max-Age, RFC 7252 §5.9.3.4) and the ones under way keep going.
import type { BlockOption } from './block-option.ts';

export type Block1Outcome =
  | { kind: 'continue' }
  | { kind: 'complete'; body: Buffer }
  | { kind: 'incomplete'; reason: string }
  | { kind: 'tooLarge'; max: number }
  | { kind: 'overloaded'; reason: string; retryAfterS: number };

export type Block1Limits = {
  /** reassemblies one peer (address and port) may have under way */
  maxPerPeer: number;
  /** reassemblies under way in total */
  maxTotal: number;
  /** bytes buffered by all reassemblies together */
  maxTotalBytes: number;
};

export const defaultBlock1Limits: Block1Limits = { maxPerPeer: 4, maxTotal: 2_000, maxTotalBytes: 64 * 1024 * 1024 };

type Assembly = { peer: string; parts: Buffer[]; received: number; lastBlockLength: number; touched: number };

export class Block1Assembler {
  private readonly assemblies = new Map<string, Assembly>();
  private readonly perPeer = new Map<string, number>();
  private bytes = 0;
  /** transfers refused by a bound, by bound */
  readonly refused = { perPeer: 0, total: 0, bytes: 0 };

  constructor(readonly maxBodySize: number, private readonly idleMs: number, readonly limits: Block1Limits = defaultBlock1Limits) {}

  /**
   * key identifies the transfer: peer + method + URI (no Request-Tag in RFC 7959); peer the
   * peer alone. max: this resource's body limit when lower than the endpoint's.
   */
  accept(key: string, peer: string, block: BlockOption, payload: Buffer, size1: number | undefined, now: number, max = this.maxBodySize): Block1Outcome {
    if (size1 !== undefined && size1 > max) {
      this.remove(key);
      return { kind: 'tooLarge', max };
    }
    const offset = block.num * block.size;
    let a = this.assemblies.get(key);
    if (block.num === 0) {
      this.remove(key);
      const refusal = this.refuseNew(peer);
      if (refusal) return refusal;
      a = { peer, parts: [], received: 0, lastBlockLength: 0, touched: now };
      this.assemblies.set(key, a);
      this.perPeer.set(peer, (this.perPeer.get(peer) ?? 0) + 1);
    }
    if (!a) return { kind: 'incomplete', reason: `block ${block.num} arrived before block 0` };
    if (block.more && payload.length !== block.size) {
      this.remove(key);
      return { kind: 'incomplete', reason: `block ${block.num} carries ${payload.length} bytes, not ${block.size}` };
    }
    if (offset + payload.length === a.received && offset === a.received - a.lastBlockLength && block.num > 0) {
      // the client re-sent the last block under a new Message ID: answer it again, append nothing
      a.touched = now;
      return block.more ? { kind: 'continue' } : { kind: 'incomplete', reason: 'final block repeated' };
    }
    if (offset !== a.received) {
      this.remove(key);
      return { kind: 'incomplete', reason: `expected the block at byte ${a.received}, got byte ${offset}` };
    }
    if (a.received + payload.length > max) {
      this.remove(key);
      return { kind: 'tooLarge', max };
    }
    if (this.bytes + payload.length > this.limits.maxTotalBytes) {
      this.remove(key);
      this.refused.bytes++;
      return { kind: 'overloaded', reason: 'too many bytes in block-wise uploads under way', retryAfterS: 10 };
    }
    a.parts.push(payload);
    a.received += payload.length;
    this.bytes += payload.length;
    a.lastBlockLength = payload.length;
    a.touched = now;
    if (block.more) return { kind: 'continue' };
    const body = Buffer.concat(a.parts);
    this.remove(key);
    return { kind: 'complete', body };
  }

  sweep(now: number): void {
    for (const [k, a] of this.assemblies) if (now - a.touched > this.idleMs) this.remove(k);
  }

  get pending(): number {
    return this.assemblies.size;
  }

  get bufferedBytes(): number {
    return this.bytes;
  }

  private refuseNew(peer: string): Block1Outcome | undefined {
    if ((this.perPeer.get(peer) ?? 0) >= this.limits.maxPerPeer) {
      this.refused.perPeer++;
      return { kind: 'overloaded', reason: `${this.limits.maxPerPeer} block-wise uploads from this peer are under way`, retryAfterS: 10 };
    }
    if (this.assemblies.size >= this.limits.maxTotal) {
      this.refused.total++;
      return { kind: 'overloaded', reason: 'too many block-wise uploads under way', retryAfterS: 10 };
    }
    return undefined;
  }

  private remove(key: string): void {
    const a = this.assemblies.get(key);
    if (!a) return;
    this.assemblies.delete(key);
    this.bytes -= a.received;
    const n = (this.perPeer.get(a.peer) ?? 1) - 1;
    if (n <= 0) this.perPeer.delete(a.peer);
    else this.perPeer.set(a.peer, n);
  }
}
