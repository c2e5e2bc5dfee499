// The official ONNX protobuf schema (onnx.proto, copied verbatim from the onnx 1.12 release),
// parsed at run time by protobufjs.
//
// Why runtime parsing rather than generated static code: the .proto text stays the single source
// of truth (no 20k-line generated file to review or keep in sync, no codegen step in the build),
// and parsing costs a few milliseconds once per process. `keepCase` keeps the spec's snake_case
// field names (raw_data, dim_value), so code reads like the spec.
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';

let root: protobuf.Root | undefined;

function onnxRoot(): protobuf.Root {
  if (!root) {
    const text = readFileSync(new URL('./onnx.proto', import.meta.url), 'utf8');
    root = protobuf.parse(text, { keepCase: true }).root;
  }
  return root;
}

export function onnxType(name: 'ModelProto' | 'TensorProto' | 'GraphProto' | 'NodeProto'): protobuf.Type {
  return onnxRoot().lookupType(`onnx.${name}`);
}

/** Conversion used for every decoded message: int64 as decimal strings (exact), enums as numbers. */
export const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: Number, arrays: true, defaults: false };

/** TensorProto.DataType values (onnx.proto). */
export const ONNX_DTYPE = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8,
  BOOL: 9, FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
} as const;

export function onnxDtypeName(code: number): string {
  for (const [k, v] of Object.entries(ONNX_DTYPE)) if (v === code) return k;
  return `unknown(${code})`;
}
