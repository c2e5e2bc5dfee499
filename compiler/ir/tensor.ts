// Helpers over shapes and typed arrays shared by every stage.
import { CompileError } from './compile-error.ts';
import type { DType, Shape } from './graph.ts';

export type TensorData = Float32Array | Int8Array | Int32Array | BigInt64Array | Uint8Array;

/** A runtime tensor of the float reference executor (also what a ConstTensor is, minus the name). */
export type Tensor = { readonly dtype: DType; readonly shape: Shape; readonly data: TensorData };

/**
 * Largest element count we accept for one tensor (64 Mi elements = 256 MiB of float32). It keeps a
 * corrupt or hostile shape from turning into a multi-gigabyte allocation.
 */
export const MAX_TENSOR_ELEMENTS = 64 * 1024 * 1024;

/**
 * Largest total element count of all activations of one graph (256 Mi elements = 1 GiB of
 * float32). The float executor keeps every intermediate, so this bounds its memory.
 */
export const MAX_GRAPH_ELEMENTS = 256 * 1024 * 1024;

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Checks every dim is a non-negative safe integer and the element count is within MAX_TENSOR_ELEMENTS. */
export function checkShape(shape: Shape, what: string): void {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new CompileError('BAD_MODEL', `${what} has an invalid dimension ${d} in [${shape.join(',')}]`);
    n *= d;
    if (n > MAX_TENSOR_ELEMENTS) throw new CompileError('TOO_LARGE', `${what} has shape [${shape.join(',')}], more than ${MAX_TENSOR_ELEMENTS} elements`);
  }
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function allocData(dtype: DType, n: number): TensorData {
  switch (dtype) {
    case 'float32': return new Float32Array(n);
    case 'int8': return new Int8Array(n);
    case 'int32': return new Int32Array(n);
    case 'int64': return new BigInt64Array(n);
    case 'uint8':
    case 'bool': return new Uint8Array(n);
  }
}

/** Normalizes a possibly negative axis against `rank` (ONNX: accepted range [-rank, rank-1]). */
export function normAxis(axis: number, rank: number, what: string, inclusiveEnd = false): number {
  const hi = inclusiveEnd ? rank : rank - 1;
  if (axis < -rank || axis > hi) throw new CompileError('BAD_MODEL', `${what}: axis ${axis} out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

/** Reads an integer tensor (int64/int32/int8/uint8) as plain numbers. */
export function intValues(data: TensorData, what: string): number[] {
  const out: number[] = [];
  if (data instanceof BigInt64Array) {
    for (const v of data) {
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new CompileError('BAD_MODEL', `${what}: int64 value ${v} out of range`);
      out.push(Number(v));
    }
  } else if (data instanceof Float32Array) {
    throw new CompileError('BAD_MODEL', `${what}: expected an integer tensor, got float32`);
  } else {
    for (const v of data) out.push(v);
  }
  return out;
}
