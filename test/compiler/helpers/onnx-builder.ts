// Builds ONNX ModelProto bytes from a compact description, with the same official schema the
// importer reads. Tests use it to make small models without Python.
import type { ConstTensor } from '../../../compiler/ir/graph.ts';
import { onnxType } from '../../../compiler/onnx/schema.ts';

export type Attr =
  | { readonly f: number }
  | { readonly i: number }
  | { readonly s: string }
  | { readonly floats: readonly number[] }
  | { readonly ints: readonly number[] }
  | { readonly t: ConstTensor };

export const attr = {
  f: (f: number): Attr => ({ f }),
  i: (i: number): Attr => ({ i }),
  s: (s: string): Attr => ({ s }),
  floats: (floats: readonly number[]): Attr => ({ floats }),
  ints: (ints: readonly number[]): Attr => ({ ints }),
  t: (t: ConstTensor): Attr => ({ t }),
};

export type NodeSpec = {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs?: Readonly<Record<string, Attr>>;
  readonly name?: string;
  readonly domain?: string;
};

export type ValueSpec = { readonly name: string; readonly shape?: readonly (number | string)[]; readonly elemType?: number };

export type ModelSpec = {
  readonly opset?: number;
  readonly nodes: readonly NodeSpec[];
  readonly inputs: readonly ValueSpec[];
  readonly outputs: readonly ValueSpec[];
  readonly initializers?: readonly ConstTensor[];
  /** store initializers in the typed fields (float_data, int64_data, ...) instead of raw_data */
  readonly typedFields?: boolean;
};

const ELEM: Readonly<Record<ConstTensor['dtype'], number>> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9 };

export function tensorProto(t: ConstTensor, typedFields = false): Record<string, unknown> {
  const base = { name: t.name, dims: [...t.shape], data_type: ELEM[t.dtype] };
  if (!typedFields) {
    return { ...base, raw_data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice() };
  }
  if (t.data instanceof Float32Array) return { ...base, float_data: [...t.data] };
  if (t.data instanceof BigInt64Array) return { ...base, int64_data: [...t.data].map((v) => v.toString()) };
  return { ...base, int32_data: [...t.data] };
}

function attrProto(name: string, a: Attr): Record<string, unknown> {
  if ('f' in a) return { name, type: 1, f: a.f };
  if ('i' in a) return { name, type: 2, i: a.i };
  if ('s' in a) return { name, type: 3, s: new TextEncoder().encode(a.s) };
  if ('t' in a) return { name, type: 4, t: tensorProto(a.t) };
  if ('floats' in a) return { name, type: 6, floats: [...a.floats] };
  return { name, type: 7, ints: [...a.ints] };
}

function valueInfo(v: ValueSpec): Record<string, unknown> {
  const tensor_type: Record<string, unknown> = { elem_type: v.elemType ?? 1 };
  if (v.shape) tensor_type.shape = { dim: v.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) };
  return { name: v.name, type: { tensor_type } };
}

export function buildModel(spec: ModelSpec): Uint8Array {
  const type = onnxType('ModelProto');
  const obj = {
    ir_version: 8,
    producer_name: 'tinymlaas-test',
    opset_import: [{ domain: '', version: spec.opset ?? 13 }],
    graph: {
      name: 'test',
      node: spec.nodes.map((n, i) => ({
        name: n.name ?? `${n.op}_${i}`,
        op_type: n.op,
        domain: n.domain ?? '',
        input: [...n.inputs],
        output: [...n.outputs],
        attribute: Object.entries(n.attrs ?? {}).map(([k, a]) => attrProto(k, a)),
      })),
      initializer: (spec.initializers ?? []).map((t) => tensorProto(t, spec.typedFields)),
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
    },
  };
  return type.encode(type.fromObject(obj)).finish();
}

/** Deterministic pseudo-random numbers (mulberry32) so failures reproduce. */
export { seededRandom as rng } from '../../../simulators/client/seeded-random.ts';

export function randomTensor(name: string, shape: readonly number[], rand: () => number, scale = 1, offset = 0): ConstTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (rand() * 2 - 1) * scale + offset;
  return { name, dtype: 'float32', shape, data };
}

export function int64Tensor(name: string, values: readonly number[], shape: readonly number[] = [values.length]): ConstTensor {
  return { name, dtype: 'int64', shape, data: BigInt64Array.from(values.map((v) => BigInt(v))) };
}

export function floatTensor(name: string, values: readonly number[], shape: readonly number[] = [values.length]): ConstTensor {
  return { name, dtype: 'float32', shape, data: Float32Array.from(values) };
}
