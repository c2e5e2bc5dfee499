// Minimal NumPy .npy reader (format 1.0-3.0, https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
// little-endian float32/float64/uint8/int8 arrays in C order, for user calibration sets.
import { CompileError } from '../ir/compile-error.ts';

export type NpyArray = { readonly shape: readonly number[]; readonly data: Float32Array | Float64Array | Uint8Array | Int8Array };

export function parseNpy(bytes: Uint8Array, what = '.npy'): NpyArray {
  const bad = (msg: string): never => {
    throw new CompileError('BAD_DATA', `${what}: ${msg}`);
  };
  if (bytes.length < 10 || bytes[0] !== 0x93 || new TextDecoder().decode(bytes.subarray(1, 6)) !== 'NUMPY') bad('not a .npy file');
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + headerLen > bytes.length) bad('truncated header');
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) bad('unreadable header');
  if (fortran === 'True') bad('Fortran-order arrays are not supported');
  const shape = (shapeText ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) bad(`bad shape (${shapeText})`);
  const n = shape.reduce((a, b) => a * b, 1);
  const body = new Uint8Array(bytes.length - start - headerLen); // a copy: aligned, and not a Buffer-pool view
  body.set(bytes.subarray(start + headerLen));
  const need = (size: number): void => {
    if (body.length < n * size) bad(`${body.length} data bytes for ${n} elements of ${descr}`);
  };
  switch (descr) {
    case '<f4': need(4); return { shape, data: new Float32Array(body.buffer, 0, n) };
    case '<f8': need(8); return { shape, data: new Float64Array(body.buffer, 0, n) };
    case '|u1': need(1); return { shape, data: new Uint8Array(body.buffer, 0, n) };
    case '|i1': need(1); return { shape, data: new Int8Array(body.buffer, 0, n) };
    default: return bad(`dtype ${descr} not supported (use float32, float64, uint8 or int8)`);
  }
}
