// Block1/Block2 option values (RFC 7959 §2.2): NUM, M and SZX packed in 0-3 bytes.
import { decodeUint, encodeUint } from './message.ts';

export type BlockOption = { readonly num: number; readonly more: boolean; readonly size: number };

export class BlockOptionError extends Error {}

export function decodeBlock(value: Buffer): BlockOption {
  if (value.length > 3) throw new BlockOptionError(`block option of ${value.length} bytes (max 3)`);
  const raw = decodeUint(value);
  const szx = raw & 0x07;
  // §2.2: SZX 7 is reserved (BERT in RFC 8323 only)
  if (szx === 7) throw new BlockOptionError('block size exponent 7 is reserved');
  return { num: Math.floor(raw / 16), more: (raw & 0x08) !== 0, size: 1 << (szx + 4) };
}

export function encodeBlock(b: BlockOption): Buffer {
  const szx = sizeToSzx(b.size);
  return encodeUint(b.num * 16 + (b.more ? 8 : 0) + szx);
}

export function sizeToSzx(size: number): number {
  const szx = Math.log2(size) - 4;
  if (!Number.isInteger(szx) || szx < 0 || szx > 6) throw new BlockOptionError(`block size ${size} is not 16..1024, a power of two`);
  return szx;
}
