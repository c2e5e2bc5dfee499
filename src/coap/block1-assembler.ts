// Server side of Block1 transfers (RFC 7959 §2.5): reassembles a request body block by block,
// with a size limit (4.13 + Size1, §2.9.3) and strict ordering (4.08 on a gap, §2.9.2).
import type { BlockOption } from './block-option.ts';

export type Block1Outcome =
  | { kind: 'continue' }
  | { kind: 'complete'; body: Buffer }
  | { kind: 'incomplete'; reason: string }
  | { kind: 'tooLarge'; max: number };

type Assembly = { parts: Buffer[]; received: number; lastBlockLength: number; touched: number };

export class Block1Assembler {
  private readonly assemblies = new Map<string, Assembly>();

  constructor(readonly maxBodySize: number, private readonly idleMs: number) {}

  /** key identifies the transfer: peer + method + URI (no Request-Tag in RFC 7959). */
  accept(key: string, block: BlockOption, payload: Buffer, size1: number | undefined, now: number): Block1Outcome {
    if (size1 !== undefined && size1 > this.maxBodySize) {
      this.assemblies.delete(key);
      return { kind: 'tooLarge', max: this.maxBodySize };
    }
    const offset = block.num * block.size;
    let a = this.assemblies.get(key);
    if (block.num === 0) {
      a = { parts: [], received: 0, lastBlockLength: 0, touched: now };
      this.assemblies.set(key, a);
    }
    if (!a) return { kind: 'incomplete', reason: `block ${block.num} arrived before block 0` };
    if (block.more && payload.length !== block.size) {
      this.assemblies.delete(key);
      return { kind: 'incomplete', reason: `block ${block.num} carries ${payload.length} bytes, not ${block.size}` };
    }
    if (offset + payload.length === a.received && offset === a.received - a.lastBlockLength && block.num > 0) {
      // the client re-sent the last block under a new Message ID: answer it again, append nothing
      a.touched = now;
      return block.more ? { kind: 'continue' } : { kind: 'incomplete', reason: 'final block repeated' };
    }
    if (offset !== a.received) {
      this.assemblies.delete(key);
      return { kind: 'incomplete', reason: `expected the block at byte ${a.received}, got byte ${offset}` };
    }
    if (a.received + payload.length > this.maxBodySize) {
      this.assemblies.delete(key);
      return { kind: 'tooLarge', max: this.maxBodySize };
    }
    a.parts.push(payload);
    a.received += payload.length;
    a.lastBlockLength = payload.length;
    a.touched = now;
    if (block.more) return { kind: 'continue' };
    this.assemblies.delete(key);
    return { kind: 'complete', body: Buffer.concat(a.parts) };
  }

  sweep(now: number): void {
    for (const [k, a] of this.assemblies) if (now - a.touched > this.idleMs) this.assemblies.delete(k);
  }

  get pending(): number {
    return this.assemblies.size;
  }
}
