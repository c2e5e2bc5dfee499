// IDX files (the MNIST / Fashion-MNIST container, http://yann.lecun.com/exdb/mnist/ "FILE
// FORMATS"): a big-endian header — two zero bytes, a type code, the number of dims — then one
// big-endian uint32 per dim, then the row-major data, big-endian. Gzipped files are inflated first.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { CompileError } from '../ir/compile-error.ts';

export type IdxArray =
  | { readonly dtype: 'uint8'; readonly shape: readonly number[]; readonly data: Uint8Array }
  | { readonly dtype: 'int8'; readonly shape: readonly number[]; readonly data: Int8Array }
  | { readonly dtype: 'int16'; readonly shape: readonly number[]; readonly data: Int16Array }
  | { readonly dtype: 'int32'; readonly shape: readonly number[]; readonly data: Int32Array }
  | { readonly dtype: 'float32'; readonly shape: readonly number[]; readonly data: Float32Array }
  | { readonly dtype: 'float64'; readonly shape: readonly number[]; readonly data: Float64Array };

const TYPES = { 0x08: ['uint8', 1], 0x09: ['int8', 1], 0x0b: ['int16', 2], 0x0c: ['int32', 4], 0x0d: ['float32', 4], 0x0e: ['float64', 8] } as const;

/** Parses IDX bytes (gzip-compressed or not). @throws CompileError BAD_DATA */
export function parseIdx(input: Uint8Array): IdxArray {
  let bytes = input;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new CompileError('BAD_DATA', `IDX: corrupt gzip stream: ${(e as Error).message}`);
    }
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw new CompileError('BAD_DATA', 'IDX: bad magic number');
  const type = TYPES[bytes[2] as keyof typeof TYPES];
  if (!type) throw new CompileError('BAD_DATA', `IDX: unknown data type code 0x${bytes[2].toString(16)}`);
  const [dtype, size] = type;
  const rank = bytes[3];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = 4 + 4 * rank;
  if (bytes.length < header) throw new CompileError('BAD_DATA', 'IDX: truncated header');
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const n = shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== header + n * size) {
    throw new CompileError('BAD_DATA', `IDX: ${bytes.length - header} data bytes for shape [${shape.join(',')}], expected ${n * size}`);
  }
  const at = (i: number): number => header + i * size;
  switch (dtype) {
    case 'uint8': return { dtype, shape, data: bytes.slice(header) };
    case 'int8': return { dtype, shape, data: new Int8Array(bytes.slice(header).buffer) };
    case 'int16': return { dtype, shape, data: Int16Array.from({ length: n }, (_, i) => view.getInt16(at(i), false)) };
    case 'int32': return { dtype, shape, data: Int32Array.from({ length: n }, (_, i) => view.getInt32(at(i), false)) };
    case 'float32': return { dtype, shape, data: Float32Array.from({ length: n }, (_, i) => view.getFloat32(at(i), false)) };
    case 'float64': return { dtype, shape, data: Float64Array.from({ length: n }, (_, i) => view.getFloat64(at(i), false)) };
  }
}

export function readIdxFile(path: string): IdxArray {
  return parseIdx(readFileSync(path));
}

/**
 * Sample `index` of an IDX array whose first dim indexes samples (e.g. images [N, 28, 28]) as
 * float32, multiplied by `scale` (default 1/255: pixel bytes to [0, 1], the zoo's preprocessing).
 */
export function sampleAsFloat32(arr: IdxArray, index: number, scale = 1 / 255): Float32Array {
  const per = arr.shape.slice(1).reduce((a, b) => a * b, 1);
  if (!Number.isInteger(index) || index < 0 || index >= (arr.shape[0] ?? 0)) {
    throw new CompileError('BAD_DATA', `IDX: sample ${index} out of range [0, ${arr.shape[0] ?? 0})`);
  }
  const out = new Float32Array(per);
  for (let i = 0; i < per; i++) out[i] = Number(arr.data[index * per + i]) * scale;
  return out;
}
