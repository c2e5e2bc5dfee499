// ONNX ModelProto bytes -> IR Graph. The importer is the edge of the compiler: whatever the bytes,
// it either returns a graph whose every value has a static shape, or throws a CompileError.
import { CompileError } from '../ir/compile-error.ts';
import type { AttrValue, ConstTensor, Graph, Node, ValueInfo } from '../ir/graph.ts';
import { MAX_GRAPH_ELEMENTS, sizeOf } from '../ir/tensor.ts';
import { inferShapes, unsupportedOpError } from '../shape-inference/infer-shapes.ts';
import { OP_SHAPES } from '../shape-inference/op-shapes.ts';
import { attrKind } from '../shape-inference/op-signatures.ts';
import { attrFromProto, protoAttrKind } from './attributes.ts';
import type { GraphProto, ModelProto, NodeProto, ValueInfoProto } from './proto-types.ts';
import { TO_OBJECT, onnxType } from './schema.ts';
import { constFromTensorProto, irDtype, parseDim } from './tensor-proto.ts';
import { convertToOpset11 } from './opset-conversion.ts';

export const DEFAULT_MAX_MODEL_BYTES = 64 * 1024 * 1024;
export const MIN_OPSET = 11;
export const MAX_OPSET = 17;
/** older models are read as opset 11 where every op's semantics are unchanged (opset-conversion.ts) */
export const MIN_CONVERTIBLE_OPSET = 1;

export type ImportOptions = {
  /** reject models larger than this many bytes before parsing (default 64 MiB) */
  readonly maxBytes?: number;
  /**
   * Values for symbolic dimensions (dim_param, e.g. a dynamic batch 'N'). The compiler works on
   * static shapes; an unnamed or unlisted symbolic dimension becomes 1 (one sample per inference,
   * which is what a microcontroller runs).
   */
  readonly dimParams?: Readonly<Record<string, number>>;
  /** graph inputs to freeze as constants (they become initializers), e.g. a Reshape target fed as an input */
  readonly constantInputs?: ReadonlyMap<string, ConstTensor>;
};

function decodeModel(bytes: Uint8Array): ModelProto {
  try {
    const type = onnxType('ModelProto');
    return type.toObject(type.decode(bytes), TO_OBJECT) as ModelProto;
  } catch (e) {
    // protobufjs throws RangeError/Error on truncation, bad wire types and runaway nesting.
    throw new CompileError('BAD_MODEL', `not a valid ONNX model (truncated or corrupt protobuf): ${(e as Error).message}`);
  }
}

function defaultOpset(model: ModelProto): number {
  const entries = (model.opset_import ?? []).filter((o) => !o.domain || o.domain === 'ai.onnx');
  if (entries.length === 0) {
    throw new CompileError('BAD_OPSET', `model declares no default-domain (ai.onnx) opset; supported opsets are ${MIN_OPSET} to ${MAX_OPSET}`);
  }
  const v = Number(entries[0].version ?? 0);
  if (!(v >= MIN_CONVERTIBLE_OPSET && v <= MAX_OPSET)) {
    throw new CompileError('BAD_OPSET', `model uses ai.onnx opset ${entries[0].version}; supported opsets are ${MIN_OPSET} to ${MAX_OPSET}, older ones where the ops are unchanged (re-export the model with opset_version in that range)`, { opset: v });
  }
  return v;
}

function valueInfo(v: ValueInfoProto, role: string, dimParams: Readonly<Record<string, number>>, requireShape: boolean): ValueInfo {
  const name = v.name ?? '';
  if (!name) throw new CompileError('BAD_MODEL', `a graph ${role} has no name`);
  const what = `graph ${role} '${name}'`;
  const tt = v.type?.tensor_type;
  if (!tt) throw new CompileError('UNSUPPORTED_DTYPE', `${what} is not a tensor (sequence/map/optional types are not supported)`);
  const dtype = irDtype(tt.elem_type, what);
  const dims = tt.shape?.dim;
  if (!dims) {
    if (requireShape) throw new CompileError('BAD_MODEL', `${what} has no shape; the compiler needs static input shapes`);
    return { name, dtype, shape: [] };
  }
  const shape: number[] = [];
  for (const d of dims) {
    if (d.dim_value !== undefined) {
      shape.push(parseDim(d.dim_value, what));
    } else if (requireShape) {
      const p = d.dim_param ? dimParams[d.dim_param] : undefined;
      shape.push(p ?? 1);
    } else {
      return { name, dtype, shape: [] }; // outputs with a symbolic dim: trust inference
    }
  }
  return { name, dtype, shape };
}

function importNode(n: NodeProto, index: number, initializers: Map<string, ConstTensor>): Node | undefined {
  const op = n.op_type ?? '';
  const name = n.name || `${op || 'node'}_${index}`;
  if (!op) throw new CompileError('BAD_MODEL', `node ${index} ('${name}') has no op_type`);
  if (n.domain && n.domain !== 'ai.onnx') {
    throw new CompileError('UNSUPPORTED_OP', `operator '${n.domain}.${op}' (node '${name}') is from a custom domain; only the default ONNX domain is supported`, { op, node: name });
  }
  const attrs: Record<string, AttrValue> = {};
  for (const a of n.attribute ?? []) {
    const [k, v] = attrFromProto(a, `${op} node '${name}'`);
    if (k in attrs) throw new CompileError('BAD_MODEL', `${op} node '${name}': attribute '${k}' appears more than once`);
    const kind = attrKind(op, k) === 'flag' ? 'int' : attrKind(op, k);
    if (kind && kind !== protoAttrKind(a)) {
      throw new CompileError('BAD_MODEL', `${op} node '${name}': attribute '${k}' is declared ${protoAttrKind(a).toUpperCase()}, ${op} defines it as ${kind.toUpperCase()}`);
    }
    attrs[k] = v;
  }
  for (const reserved of ['activation', 'activation_min', 'activation_max']) {
    // reserved for the fused activation the passes write (compiler/ir/fused-activation.ts)
    if (reserved in attrs) throw new CompileError('BAD_MODEL', `${op} node '${name}': attribute '${reserved}' is not an ONNX attribute of ${op}`);
  }
  const outputs = n.output ?? [];
  if (op === 'Constant') {
    // Constant nodes become initializers: every later stage then sees one kind of constant.
    if (outputs.length !== 1 || !outputs[0]) throw new CompileError('BAD_MODEL', `Constant node '${name}' must have exactly one output`);
    if (initializers.has(outputs[0])) throw new CompileError('BAD_MODEL', `value '${outputs[0]}' is defined twice (Constant node '${name}')`);
    initializers.set(outputs[0], constantValue(attrs, name, outputs[0]));
    return undefined;
  }
  if (!OP_SHAPES[op]) throw unsupportedOpError(op, name);
  return { name, op, inputs: n.input ?? [], outputs, attrs };
}

function constantValue(attrs: Record<string, AttrValue>, nodeName: string, out: string): ConstTensor {
  const keys = Object.keys(attrs);
  if (keys.length !== 1) throw new CompileError('BAD_MODEL', `Constant node '${nodeName}' must have exactly one value attribute, has [${keys.join(', ')}]`);
  const v = attrs[keys[0]];
  switch (keys[0]) {
    case 'value':
      if (typeof v !== 'object' || Array.isArray(v)) break;
      return { ...(v as ConstTensor), name: out };
    case 'value_float':
      if (typeof v === 'number') return { name: out, dtype: 'float32', shape: [], data: Float32Array.of(v) };
      break;
    case 'value_floats':
      if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return { name: out, dtype: 'float32', shape: [v.length], data: Float32Array.from(v as number[]) };
      break;
    case 'value_int':
      if (typeof v === 'number' && Number.isSafeInteger(v)) return { name: out, dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(v)) };
      break;
    case 'value_ints':
      if (Array.isArray(v) && v.every((x) => Number.isSafeInteger(x))) return { name: out, dtype: 'int64', shape: [v.length], data: BigInt64Array.from((v as number[]).map((x) => BigInt(x))) };
      break;
    default:
      throw new CompileError('UNSUPPORTED_OP', `Constant node '${nodeName}': attribute '${keys[0]}' is not supported (value, value_float(s), value_int(s) are)`);
  }
  throw new CompileError('BAD_MODEL', `Constant node '${nodeName}': attribute '${keys[0]}' has the wrong type`);
}

function importGraph(gp: GraphProto, declaredOpset: number, opts: ImportOptions): Graph {
  let opset = declaredOpset;
  if ((gp.sparse_initializer ?? []).length > 0) throw new CompileError('UNSUPPORTED_DTYPE', 'sparse initializers are not supported');
  const initializers = new Map<string, ConstTensor>();
  (gp.initializer ?? []).forEach((t, i) => {
    const c = constFromTensorProto(t, `initializer_${i}`);
    if (!t.name) throw new CompileError('BAD_MODEL', `initializer ${i} has no name`);
    initializers.set(c.name, c);
  });
  for (const [name, c] of opts.constantInputs ?? []) initializers.set(name, { ...c, name });
  const dimParams = opts.dimParams ?? {};
  // IR < 4 lists initializers among the inputs too; those are constants, not runtime inputs.
  const inputs = (gp.input ?? [])
    .filter((v) => !initializers.has(v.name ?? ''))
    .map((v) => valueInfo(v, 'input', dimParams, true));
  for (const v of inputs) {
    if (v.dtype !== 'float32') throw new CompileError('UNSUPPORTED_DTYPE', `graph input '${v.name}' is ${v.dtype}; the compiler takes float32 inputs only`);
  }
  const nodes: Node[] = [];
  (gp.node ?? []).forEach((n, i) => {
    const node = importNode(n, i, initializers);
    if (node) nodes.push(node);
  });
  if (opset < MIN_OPSET) opset = convertToOpset11(nodes, opset);
  const outputs = (gp.output ?? []).map((v) => valueInfo(v, 'output', dimParams, false));
  if (outputs.length === 0) throw new CompileError('BAD_MODEL', 'the graph has no outputs');
  const g = inferShapes({ name: gp.name ?? '', opset, nodes, inputs, outputs, initializers, values: new Map() });
  let total = 0;
  for (const [name, v] of g.values) if (!g.initializers.has(name)) total += sizeOf(v.shape);
  if (total > MAX_GRAPH_ELEMENTS) {
    throw new CompileError('TOO_LARGE', `the graph's activations total ${total} elements; the limit is ${MAX_GRAPH_ELEMENTS}`);
  }
  for (const o of g.outputs) {
    if (o.dtype !== 'float32') throw new CompileError('UNSUPPORTED_DTYPE', `graph output '${o.name}' is ${o.dtype}; the compiler produces float32 outputs only`);
  }
  return g;
}

/**
 * Imports an ONNX model (opsets 11 to 17, default domain only) into the IR.
 * @throws CompileError BAD_MODEL, UNSUPPORTED_OP, UNSUPPORTED_DTYPE, BAD_OPSET, SHAPE_MISMATCH, TOO_LARGE
 */
export function importOnnx(bytes: Uint8Array, options: ImportOptions = {}): Graph {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MODEL_BYTES;
  if (!(bytes instanceof Uint8Array)) throw new CompileError('BAD_MODEL', 'model must be a Uint8Array');
  // Checked before decoding: never spend memory or time parsing something we would refuse anyway.
  if (bytes.length > maxBytes) {
    throw new CompileError('TOO_LARGE', `model is ${bytes.length} bytes; the limit is ${maxBytes} bytes`, { bytes: bytes.length, maxBytes });
  }
  if (bytes.length === 0) throw new CompileError('BAD_MODEL', 'model is empty (0 bytes)');
  const model = decodeModel(bytes);
  if (!model.graph) throw new CompileError('BAD_MODEL', 'not an ONNX model: no graph (truncated, or not a ModelProto)');
  const opset = defaultOpset(model);
  return importGraph(model.graph, opset, options);
}
