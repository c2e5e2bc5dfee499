// Operator signatures for opsets 11 to 17 (ONNX Operators.md): how many inputs and outputs a node
// may have and which attributes, of which kind, it may carry. A node outside its signature is a
// malformed model (the ONNX checker and onnxruntime refuse it too); checking it here keeps a stray
// or mistyped attribute or input from being silently ignored, or failing only at run time.
import { CompileError } from '../ir/compile-error.ts';
import type { AttrValue, Node } from '../ir/graph.ts';
import { UNARY_FUNCTIONS } from '../ir/unary-functions.ts';

/** 'flag' is an INT attribute that must be 0 or 1 (ceil_mode, transA, ...). */
export type AttrKind = 'int' | 'flag' | 'float' | 'string' | 'ints';

/** An attribute's kind and the opsets that define it ([since, until], inclusive). */
type AttrSpec = readonly [AttrKind, number?, number?];

type Signature = {
  /** [min, max] inputs, counting omitted optional inputs ('') */
  readonly inputs: readonly [number, number];
  readonly outputs: readonly [number, number];
  readonly attrs: Readonly<Record<string, AttrSpec>>;
  /** the first opset that defines the operator (default: every supported opset) */
  readonly since?: number;
};

/** written by compiler/passes/fuse-activation.ts (compiler/ir/fused-activation.ts) */
const FUSED: Record<string, AttrSpec> = { activation: ['string'], activation_min: ['float'], activation_max: ['float'] };
const POOL: Record<string, AttrSpec> = { auto_pad: ['string'], ceil_mode: ['flag'], kernel_shape: ['ints'], pads: ['ints'], strides: ['ints'] };
const unary: Signature = { inputs: [1, 1], outputs: [1, 1], attrs: {} };
const binary: Signature = { inputs: [2, 2], outputs: [1, 1], attrs: {} };
/** Add/Sub/Mul/Div may carry a fused activation (TFLite's fused_activation_function on ADD/MUL) */
const arithmetic: Signature = { inputs: [2, 2], outputs: [1, 1], attrs: { ...FUSED } };

export const OP_SIGNATURES: Readonly<Record<string, Signature>> = {
  Add: arithmetic,
  Sub: arithmetic,
  Div: arithmetic,
  PRelu: binary,
  AveragePool: { inputs: [1, 1], outputs: [1, 1], attrs: { ...POOL, count_include_pad: ['flag'] } },
  BatchNormalization: { inputs: [5, 5], outputs: [1, 5], attrs: { epsilon: ['float'], momentum: ['float'], training_mode: ['flag', 14] } },
  Clip: { inputs: [1, 3], outputs: [1, 1], attrs: {} }, // min/max are inputs since Clip-11
  Concat: { inputs: [1, Infinity], outputs: [1, 1], attrs: { axis: ['int'] } },
  Conv: {
    inputs: [2, 3], outputs: [1, 1],
    attrs: { auto_pad: ['string'], dilations: ['ints'], group: ['int'], kernel_shape: ['ints'], pads: ['ints'], strides: ['ints'], ...FUSED },
  },
  Dropout: { inputs: [1, 3], outputs: [1, 2], attrs: { ratio: ['float', 1, 11], seed: ['int', 12] } },
  Flatten: { inputs: [1, 1], outputs: [1, 1], attrs: { axis: ['int'] } },
  Gemm: { inputs: [2, 3], outputs: [1, 1], attrs: { alpha: ['float'], beta: ['float'], transA: ['flag'], transB: ['flag'], ...FUSED } },
  GlobalAveragePool: unary,
  Identity: unary,
  MatMul: { inputs: [2, 2], outputs: [1, 1], attrs: { ...FUSED } },
  MaxPool: { inputs: [1, 1], outputs: [1, 2], attrs: { ...POOL, dilations: ['ints'], storage_order: ['flag'] } },
  Mul: arithmetic,
  Relu: unary,
  Reshape: { inputs: [2, 2], outputs: [1, 1], attrs: { allowzero: ['flag', 14] } },
  Softmax: { inputs: [1, 1], outputs: [1, 1], attrs: { axis: ['int'] } },
  Transpose: { inputs: [1, 1], outputs: [1, 1], attrs: { perm: ['ints'] } },
  Pad: { inputs: [2, 3], outputs: [1, 1], attrs: { mode: ['string'] } },
  Shape: { inputs: [1, 1], outputs: [1, 1], attrs: { start: ['int', 15], end: ['int', 15] } },
  Gather: { inputs: [2, 2], outputs: [1, 1], attrs: { axis: ['int'] } },
  Squeeze: { inputs: [1, 2], outputs: [1, 1], attrs: { axes: ['ints', 1, 12] } },
  Unsqueeze: { inputs: [1, 2], outputs: [1, 1], attrs: { axes: ['ints', 1, 12] } },
  ...Object.fromEntries(
    Object.entries(UNARY_FUNCTIONS).map(([op, spec]) => [op, { ...unary, since: spec.since, attrs: Object.fromEntries(Object.keys(spec.attrs).map((a) => [a, ['float'] as AttrSpec])) }]),
  ),
};

function hasKind(v: AttrValue, kind: AttrKind): boolean {
  switch (kind) {
    case 'int': return typeof v === 'number' && Number.isInteger(v);
    case 'flag': return v === 0 || v === 1;
    case 'float': return typeof v === 'number';
    case 'string': return typeof v === 'string';
    case 'ints': return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isInteger(x));
  }
}

const range = (lo: number, hi: number): string => (lo === hi ? `${lo}` : hi === Infinity ? `at least ${lo}` : `${lo} to ${hi}`);

export function checkSignature(node: Node, opset: number): void {
  const sig = OP_SIGNATURES[node.op];
  if (!sig) return; // unsupported ops are reported by the caller
  const what = `${node.op} node '${node.name}'`;
  if (sig.since !== undefined && opset < sig.since) {
    throw new CompileError('BAD_MODEL', `${what}: ${node.op} is defined from opset ${sig.since}; the model uses opset ${opset}`);
  }
  const [inMin, inMax] = sig.inputs;
  if (node.inputs.length < inMin || node.inputs.length > inMax) {
    throw new CompileError('BAD_MODEL', `${what} has ${node.inputs.length} inputs; ${node.op} takes ${range(inMin, inMax)}`);
  }
  const [outMin, outMax] = sig.outputs;
  if (node.outputs.length < outMin || node.outputs.length > outMax) {
    throw new CompileError('BAD_MODEL', `${what} has ${node.outputs.length} outputs; ${node.op} has ${range(outMin, outMax)}`);
  }
  for (const [name, value] of Object.entries(node.attrs)) {
    const spec = sig.attrs[name];
    const [kind, since = 1, until = Infinity] = spec ?? ['int'];
    if (!spec || opset < since || opset > until) {
      const known = Object.keys(sig.attrs).filter((a) => !(a in FUSED));
      throw new CompileError('BAD_MODEL', `${what} has attribute '${name}', which ${node.op} does not define at opset ${opset}${known.length ? ` (it has: ${known.join(', ')})` : ''}`);
    }
    if (!hasKind(value, kind)) throw new CompileError('BAD_MODEL', `${what}: attribute '${name}' must be of kind ${kind}`);
  }
}

/** The kind an operator's attribute must have, if the operator defines it. */
export function attrKind(op: string, name: string): AttrKind | undefined {
  return OP_SIGNATURES[op]?.attrs[name]?.[0];
}
