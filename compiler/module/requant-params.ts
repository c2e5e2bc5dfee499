// Per-channel requantization lives in an op's params (module-format.md §3.2): after the op's fixed
// scalars come C int32 multipliers, then the C int8 shifts packed four to a word (little-endian byte
// order within the word). A separate constant tensor per array would cost a record header each and
// most of a model's channels are small.

export function packRequant(mult: Int32Array, shift: Int8Array): number[] {
  const words: number[] = Array.from(mult);
  for (let i = 0; i < shift.length; i += 4) {
    let w = 0;
    for (let k = 0; k < 4 && i + k < shift.length; k++) w |= (shift[i + k] & 0xff) << (8 * k);
    words.push(w | 0);
  }
  return words;
}

export function requantWords(channels: number): number {
  return channels + Math.ceil(channels / 4);
}

export function unpackRequant(params: readonly number[], from: number, channels: number): { mult: Int32Array; shift: Int8Array } {
  const mult = Int32Array.from(params.slice(from, from + channels));
  const shift = new Int8Array(channels);
  for (let c = 0; c < channels; c++) {
    const w = params[from + channels + (c >> 2)];
    shift[c] = (w >> (8 * (c & 3))) & 0xff; // Int8Array stores the byte as signed
  }
  return { mult, shift };
}
