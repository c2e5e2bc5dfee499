// TensorProto -> ConstTensor (onnx.proto, message TensorProto): data either in raw_data
// (little-endian, packed) or in the typed field for the element type (float_data for FLOAT,
// int32_data for INT32/INT8/UINT8/..., int64_data for INT64).
import { CompileError } from '../ir/compile-error.ts';
import type { ConstTensor, DType } from '../ir/graph.ts';
import { checkShape, sizeOf, type TensorData } from '../ir/tensor.ts';
import type { TensorProto } from './proto-types.ts';
import { ONNX_DTYPE, TO_OBJECT, onnxDtypeName, onnxType } from './schema.ts';

const SUPPORTED: ReadonlyMap<number, DType> = new Map([
  [ONNX_DTYPE.FLOAT, 'float32'],
  [ONNX_DTYPE.UINT8, 'uint8'],
  [ONNX_DTYPE.INT8, 'int8'],
  [ONNX_DTYPE.INT32, 'int32'],
  [ONNX_DTYPE.INT64, 'int64'],
  [ONNX_DTYPE.BOOL, 'bool'],
]);

export const SUPPORTED_ONNX_DTYPES = 'float32, int64, int32, int8, uint8, bool';

/** Maps an ONNX TensorProto.DataType to the IR dtype, or throws UNSUPPORTED_DTYPE naming `what`. */
export function irDtype(code: number | undefined, what: string): DType {
  const d = SUPPORTED.get(code ?? 0);
  if (!d) {
    throw new CompileError('UNSUPPORTED_DTYPE', `${what} has element type ${onnxDtypeName(code ?? 0)}; supported: ${SUPPORTED_ONNX_DTYPES}`);
  }
  return d;
}

export function parseDim(s: string | undefined, what: string): number {
  const n = Number(s ?? 0);
  if (!Number.isSafeInteger(n) || n < 0) throw new CompileError('BAD_MODEL', `${what} has an invalid dimension ${s}`);
  return n;
}

const ITEM_BYTES: Readonly<Record<DType, number>> = { float32: 4, int8: 1, int32: 4, int64: 8, uint8: 1, bool: 1 };

function fromRaw(dtype: DType, raw: Uint8Array, n: number, what: string): TensorData {
  const bytes = n * ITEM_BYTES[dtype];
  if (raw.length !== bytes) throw new CompileError('BAD_MODEL', `${what}: raw_data has ${raw.length} bytes, expected ${bytes} for ${n} ${dtype} elements`);
  // new Uint8Array(raw) copies into a fresh, exactly sized, aligned buffer (Buffer#slice would not
  // copy). ONNX raw_data is little-endian, as is every platform we run on.
  const copy = new Uint8Array(raw).buffer;
  switch (dtype) {
    case 'float32': return new Float32Array(copy);
    case 'int8': return new Int8Array(copy);
    case 'int32': return new Int32Array(copy);
    case 'int64': return new BigInt64Array(copy);
    case 'uint8':
    case 'bool': return new Uint8Array(copy);
  }
}

function fromTyped(dtype: DType, t: TensorProto, n: number, what: string): TensorData {
  const src: readonly (number | string)[] =
    dtype === 'float32' ? (t.float_data ?? []) : dtype === 'int64' ? (t.int64_data ?? []) : (t.int32_data ?? []);
  if (src.length !== n) throw new CompileError('BAD_MODEL', `${what}: has ${src.length} values, expected ${n}`);
  switch (dtype) {
    case 'float32': return Float32Array.from(src as number[]);
    case 'int64': {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = BigInt.asIntN(64, BigInt(src[i]));
      return out;
    }
    case 'int32': return Int32Array.from(src as number[]);
    case 'int8': return Int8Array.from(src as number[]);
    case 'uint8':
    case 'bool': return Uint8Array.from(src as number[]);
  }
}

export function constFromTensorProto(t: TensorProto, fallbackName: string): ConstTensor {
  const name = t.name || fallbackName;
  const what = `tensor '${name}'`;
  if (t.data_location === 1 || (t.external_data && t.external_data.length > 0)) {
    throw new CompileError('BAD_MODEL', `${what} uses external data; only self-contained models are supported`);
  }
  if (t.segment) throw new CompileError('BAD_MODEL', `${what} is segmented; not supported`);
  const dtype = irDtype(t.data_type, what);
  const shape = (t.dims ?? []).map((d) => parseDim(d, what));
  checkShape(shape, what);
  const n = sizeOf(shape);
  const data = t.raw_data && t.raw_data.length > 0 ? fromRaw(dtype, t.raw_data, n, what) : fromTyped(dtype, t, n, what);
  return { name, dtype, shape, data };
}

/** Decodes a serialized TensorProto (the test_data_set_* input_N.pb / output_N.pb files). */
export function decodeTensorProto(bytes: Uint8Array): ConstTensor {
  let obj: TensorProto;
  try {
    const type = onnxType('TensorProto');
    obj = type.toObject(type.decode(bytes), TO_OBJECT) as TensorProto;
  } catch (e) {
    throw new CompileError('BAD_MODEL', `not a valid TensorProto (truncated or corrupt): ${(e as Error).message}`);
  }
  return constFromTensorProto(obj, '');
}
