// Per-operator shape and dtype rules (the "type and shape inference" part of each ONNX operator
// schema). One entry per supported operator; SUPPORTED_OPS is derived from this table, so an
// operator is supported exactly when it has a rule here and a kernel in compiler/reference/.
import { attrInt, attrInts, hasAttr } from '../ir/attrs.ts';
import { CompileError } from '../ir/compile-error.ts';
import type { ConstTensor, DType, Node, Shape, ValueInfo } from '../ir/graph.ts';
import { intValues, normAxis, sizeOf } from '../ir/tensor.ts';
import { broadcastShapes } from './broadcast.ts';
import { windowGeometry } from './window-geometry.ts';
import { UNARY_FUNCTIONS } from '../ir/unary-functions.ts';
import { axesOf, gatherShape, padAmounts, shapeSlice, squeezeShape, unsqueezeShape } from './shape-ops.ts';

export type ShapeContext = {
  readonly opset: number;
  /** the constant value of a value name (initializer), if it is one */
  readonly constant: (name: string) => ConstTensor | undefined;
};

export type OutType = { readonly dtype: DType; readonly shape: Shape };

/** inputs[i] is undefined for an omitted optional input (''). */
export type ShapeRule = (node: Node, inputs: readonly (ValueInfo | undefined)[], ctx: ShapeContext) => OutType[];

const desc = (n: Node): string => `${n.op} node '${n.name}'`;

function need(node: Node, inputs: readonly (ValueInfo | undefined)[], i: number): ValueInfo {
  const v = inputs[i];
  if (!v) throw new CompileError('BAD_MODEL', `${desc(node)}: required input ${i} is missing`);
  return v;
}

function float(node: Node, v: ValueInfo): ValueInfo {
  if (v.dtype !== 'float32') {
    throw new CompileError('UNSUPPORTED_DTYPE', `${desc(node)}: input '${v.name}' is ${v.dtype}; ${node.op} supports float32 only`);
  }
  return v;
}

function rankAtLeast(node: Node, v: ValueInfo, r: number): void {
  if (v.shape.length < r) throw new CompileError('SHAPE_MISMATCH', `${desc(node)}: input '${v.name}' has rank ${v.shape.length}, expected >= ${r}`);
}

/** Rejects optional outputs beyond the first `n` (e.g. Dropout's mask, MaxPool's Indices). */
function onlyOutputs(node: Node, n: number, why: string): void {
  for (let i = n; i < node.outputs.length; i++) {
    if (node.outputs[i] !== '') throw new CompileError('UNSUPPORTED_OP', `${desc(node)}: output ${i} ('${node.outputs[i]}') is not supported (${why})`);
  }
}

const unaryFloat: ShapeRule = (node, inputs) => {
  const x = float(node, need(node, inputs, 0));
  onlyOutputs(node, 1, 'single output only');
  return [{ dtype: 'float32', shape: x.shape }];
};

const binaryBroadcast: ShapeRule = (node, inputs) => {
  const a = float(node, need(node, inputs, 0));
  const b = float(node, need(node, inputs, 1));
  return [{ dtype: 'float32', shape: broadcastShapes(a.shape, b.shape, desc(node)) }];
};

const passThrough: ShapeRule = (node, inputs) => {
  const x = need(node, inputs, 0);
  return [{ dtype: x.dtype, shape: x.shape }];
};

function scalarish(node: Node, v: ValueInfo | undefined, label: string): void {
  if (v && sizeOf(v.shape) !== 1) throw new CompileError('SHAPE_MISMATCH', `${desc(node)}: ${label} must be a scalar, got shape [${v.shape.join(',')}]`);
  if (v) float(node, v);
}

const pool: ShapeRule = (node, inputs) => {
  const x = float(node, need(node, inputs, 0));
  onlyOutputs(node, 1, 'MaxPool Indices output is not supported');
  rankAtLeast(node, x, 3);
  if (x.shape.length > 5) throw new CompileError('UNSUPPORTED_OP', `${desc(node)}: ${x.shape.length - 2}-D pooling; 1-D, 2-D and 3-D are supported`);
  const kernel = attrInts(node, 'kernel_shape');
  if (!kernel) throw new CompileError('BAD_MODEL', `${desc(node)}: kernel_shape attribute is required`);
  if (attrInt(node, 'storage_order', 0) !== 0) throw new CompileError('UNSUPPORTED_OP', `${desc(node)}: storage_order=1 (column major) is not supported`);
  const g = windowGeometry(node, x.shape.slice(2), kernel, true);
  const pads = attrInts(node, 'pads') ?? [];
  if (pads.some((p, i) => p >= g.kernel[i % g.kernel.length])) {
    // explicit pads as large as the kernel allow windows wholly in the padding, which have no
    // defined value; onnxruntime refuses them too
    throw new CompileError('UNSUPPORTED_OP', `${desc(node)}: pads [${pads.join(',')}] must be smaller than kernel_shape [${g.kernel.join(',')}]`);
  }
  return [{ dtype: 'float32', shape: [x.shape[0], x.shape[1], ...g.out] }];
};

export const OP_SHAPES: Readonly<Record<string, ShapeRule>> = {
  Relu: unaryFloat,
  ...Object.fromEntries(Object.keys(UNARY_FUNCTIONS).map((op) => [op, unaryFloat])),
  Identity: passThrough,

  Add: binaryBroadcast,
  Sub: binaryBroadcast,
  Mul: binaryBroadcast,
  Div: binaryBroadcast,
  PRelu: (node, inputs) => {
    // unidirectional broadcasting: the slope broadcasts to x, the output has x's shape
    const x = float(node, need(node, inputs, 0));
    const slope = float(node, need(node, inputs, 1));
    const out = broadcastShapes(x.shape, slope.shape, desc(node));
    if (out.length !== x.shape.length || out.some((d, i) => d !== x.shape[i])) {
      throw new CompileError('SHAPE_MISMATCH', `${desc(node)}: slope [${slope.shape.join(',')}] does not broadcast to x [${x.shape.join(',')}]`);
    }
    return [{ dtype: 'float32', shape: x.shape }];
  },

  Clip: (node, inputs) => {
    scalarish(node, inputs[1], 'min');
    scalarish(node, inputs[2], 'max');
    const x = float(node, need(node, inputs, 0));
    return [{ dtype: 'float32', shape: x.shape }];
  },

  Dropout: (node, inputs, ctx) => {
    const x = float(node, need(node, inputs, 0));
    if (ctx.opset < 12 && node.inputs.length > 1) {
      throw new CompileError('BAD_MODEL', `${desc(node)} has ${node.inputs.length} inputs; Dropout takes 1 before opset 12 (ratio is an attribute)`);
    }
    onlyOutputs(node, 1, 'the mask output exists only for training; inference models do not use it');
    scalarish(node, inputs[1], 'ratio');
    // opset >= 12: training_mode is an input; only a constant false is inference.
    const tm = node.inputs[2];
    if (tm) {
      const c = ctx.constant(tm);
      if (!c || c.data.length !== 1 || Number(c.data[0]) !== 0) {
        throw new CompileError('UNSUPPORTED_OP', `${desc(node)}: training_mode must be absent or a constant false (inference only)`);
      }
    }
    return [{ dtype: 'float32', shape: x.shape }];
  },

  BatchNormalization: (node, inputs, ctx) => {
    const x = float(node, need(node, inputs, 0));
    rankAtLeast(node, x, 2);
    if (attrInt(node, 'training_mode', 0) !== 0) throw new CompileError('UNSUPPORTED_OP', `${desc(node)}: training_mode=1 is not supported (inference only)`);
    // BatchNormalization-9: 1 or 5 outputs; -14/-15: 1 or 3 (the extra ones only in training)
    const counts = ctx.opset >= 14 ? [1, 3] : [1, 5];
    if (!counts.includes(node.outputs.length)) {
      throw new CompileError('BAD_MODEL', `${desc(node)} has ${node.outputs.length} outputs; at opset ${ctx.opset} it has ${counts.join(' or ')}`);
    }
    onlyOutputs(node, 1, 'running mean/var outputs exist only in training mode');
    const c = x.shape[1];
    for (let i = 1; i <= 4; i++) {
      const p = float(node, need(node, inputs, i));
      if (p.shape.length !== 1 || p.shape[0] !== c) {
        throw new CompileError('SHAPE_MISMATCH', `${desc(node)}: input ${i} ('${p.name}') has shape [${p.shape.join(',')}], expected [${c}]`);
      }
    }
    return [{ dtype: 'float32', shape: x.shape }];
  },

  Conv: (node, inputs) => {
    const x = float(node, need(node, inputs, 0));
    const w = float(node, need(node, inputs, 1));
    rankAtLeast(node, x, 3);
    if (x.shape.length > 5) throw new CompileError('UNSUPPORTED_OP', `${desc(node)}: ${x.shape.length - 2}-D convolution; 1-D, 2-D and 3-D are supported`);
    if (w.shape.length !== x.shape.length) throw new CompileError('SHAPE_MISMATCH', `${desc(node)}: weight rank ${w.shape.length} != input rank ${x.shape.length}`);
    const group = attrInt(node, 'group', 1);
    const [, c] = x.shape;
    const [m, cPerGroup] = w.shape;
    if (group < 1 || c % group !== 0 || m % group !== 0 || cPerGroup * group !== c) {
      throw new CompileError('SHAPE_MISMATCH', `${desc(node)}: input channels ${c}, weight [${w.shape.join(',')}] and group ${group} do not agree`);
    }
    const b = inputs[2];
    if (b && (float(node, b).shape.length !== 1 || b.shape[0] !== m)) {
      throw new CompileError('SHAPE_MISMATCH', `${desc(node)}: bias has shape [${b.shape.join(',')}], expected [${m}]`);
    }
    const kernel = w.shape.slice(2);
    const ks = attrInts(node, 'kernel_shape');
    if (ks && (ks.length !== kernel.length || ks.some((k, i) => k !== kernel[i]))) {
      throw new CompileError('SHAPE_MISMATCH', `${desc(node)}: kernel_shape [${ks.join(',')}] disagrees with weight [${w.shape.join(',')}]`);
    }
    const g = windowGeometry(node, x.shape.slice(2), kernel, false);
    return [{ dtype: 'float32', shape: [x.shape[0], m, ...g.out] }];
  },

  MaxPool: pool,
  AveragePool: pool,

  GlobalAveragePool: (node, inputs) => {
    const x = float(node, need(node, inputs, 0));
    rankAtLeast(node, x, 3);
    return [{ dtype: 'float32', shape: [x.shape[0], x.shape[1], ...x.shape.slice(2).map(() => 1)] }];
  },

  Gemm: (node, inputs) => {
    const a = float(node, need(node, inputs, 0));
    const b = float(node, need(node, inputs, 1));
    if (a.shape.length !== 2 || b.shape.length !== 2) {
      throw new CompileError('SHAPE_MISMATCH', `${desc(node)}: A and B must be 2-D, got [${a.shape.join(',')}] and [${b.shape.join(',')}]`);
    }
    const transA = attrInt(node, 'transA', 0) !== 0;
    const transB = attrInt(node, 'transB', 0) !== 0;
    const [m, k] = transA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
    const [k2, n] = transB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
    if (k !== k2) throw new CompileError('SHAPE_MISMATCH', `${desc(node)}: inner dimensions differ (${k} vs ${k2})`);
    const c = inputs[2];
    if (c) {
      float(node, c);
      const bc = broadcastShapes(c.shape, [m, n], desc(node));
      if (bc.length !== 2 || bc[0] !== m || bc[1] !== n) {
        throw new CompileError('SHAPE_MISMATCH', `${desc(node)}: C of shape [${c.shape.join(',')}] does not broadcast to [${m},${n}]`);
      }
    }
    return [{ dtype: 'float32', shape: [m, n] }];
  },

  MatMul: (node, inputs) => {
    const a = float(node, need(node, inputs, 0));
    const b = float(node, need(node, inputs, 1));
    return [{ dtype: 'float32', shape: matmulShape(a.shape, b.shape, desc(node)) }];
  },

  Flatten: (node, inputs) => {
    const x = need(node, inputs, 0);
    const axis = normAxis(attrInt(node, 'axis', 1), x.shape.length, desc(node), true);
    return [{ dtype: x.dtype, shape: [sizeOf(x.shape.slice(0, axis)), sizeOf(x.shape.slice(axis))] }];
  },

  Reshape: (node, inputs, ctx) => {
    const x = need(node, inputs, 0);
    need(node, inputs, 1);
    const c = ctx.constant(node.inputs[1]);
    if (!c) throw new CompileError('UNSUPPORTED_OP', `${desc(node)}: the target shape must be a constant (initializer or Constant node)`);
    if (c.dtype !== 'int64' || c.shape.length !== 1) {
      throw new CompileError('BAD_MODEL', `${desc(node)}: the shape input must be a 1-D int64 tensor, got ${c.dtype} [${c.shape.join(',')}]`);
    }
    return [{ dtype: x.dtype, shape: reshapeTarget(x.shape, intValues(c.data, desc(node)), attrInt(node, 'allowzero', 0) !== 0, desc(node)) }];
  },

  Transpose: (node, inputs) => {
    const x = need(node, inputs, 0);
    const perm = transposePerm(node, x.shape.length);
    return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }];
  },

  Concat: (node, inputs) => {
    if (inputs.length === 0) throw new CompileError('BAD_MODEL', `${desc(node)}: needs at least one input`);
    const first = need(node, inputs, 0);
    const rank = first.shape.length;
    if (!hasAttr(node, 'axis')) throw new CompileError('BAD_MODEL', `${desc(node)}: axis attribute is required`);
    const axis = normAxis(attrInt(node, 'axis', 0), rank, desc(node));
    const shape = [...first.shape];
    shape[axis] = 0;
    for (let i = 0; i < inputs.length; i++) {
      const v = need(node, inputs, i);
      if (v.dtype !== first.dtype) throw new CompileError('BAD_MODEL', `${desc(node)}: inputs mix ${first.dtype} and ${v.dtype}`);
      if (v.shape.length !== rank || v.shape.some((d, j) => j !== axis && d !== first.shape[j])) {
        throw new CompileError('SHAPE_MISMATCH', `${desc(node)}: input '${v.name}' [${v.shape.join(',')}] does not match [${first.shape.join(',')}] outside axis ${axis}`);
      }
      shape[axis] += v.shape[axis];
    }
    return [{ dtype: first.dtype, shape }];
  },

  Pad: (node, inputs, ctx) => {
    const x = float(node, need(node, inputs, 0));
    const pads = padAmounts(node, x.shape.length, ctx.constant);
    return [{ dtype: 'float32', shape: x.shape.map((d, i) => d + pads[i] + pads[i + x.shape.length]) }];
  },

  Shape: (node, inputs) => [{ dtype: 'int64', shape: [shapeSlice(node, need(node, inputs, 0).shape).length] }],

  Gather: (node, inputs) => {
    const data = need(node, inputs, 0);
    const indices = need(node, inputs, 1);
    if (indices.dtype !== 'int64' && indices.dtype !== 'int32') throw new CompileError('BAD_MODEL', `${desc(node)}: indices must be int32 or int64, got ${indices.dtype}`);
    return [{ dtype: data.dtype, shape: gatherShape(node, data.shape, indices.shape) }];
  },

  Squeeze: (node, inputs, ctx) => {
    const x = need(node, inputs, 0);
    return [{ dtype: x.dtype, shape: squeezeShape(node, x.shape, axesOf(node, ctx.opset, ctx.constant)) }];
  },

  Unsqueeze: (node, inputs, ctx) => {
    const x = need(node, inputs, 0);
    return [{ dtype: x.dtype, shape: unsqueezeShape(node, x.shape, axesOf(node, ctx.opset, ctx.constant)) }];
  },

  Softmax: (node, inputs, ctx) => {
    const x = float(node, need(node, inputs, 0));
    normAxis(attrInt(node, 'axis', ctx.opset >= 13 ? -1 : 1), x.shape.length, desc(node));
    return [{ dtype: 'float32', shape: x.shape }];
  },
};

export const SUPPORTED_OPS: readonly string[] = Object.keys(OP_SHAPES).sort();

export function transposePerm(node: Node, rank: number): number[] {
  const perm = attrInts(node, 'perm') ?? [...Array(rank).keys()].reverse();
  const seen = new Set(perm);
  if (perm.length !== rank || seen.size !== rank || perm.some((p) => p < 0 || p >= rank)) {
    throw new CompileError('BAD_MODEL', `${desc(node)}: perm [${perm.join(',')}] is not a permutation of rank ${rank}`);
  }
  return [...perm];
}

/** numpy.matmul result shape (1-D operands are promoted then the added dim removed). */
export function matmulShape(a: Shape, b: Shape, what: string): number[] {
  if (a.length === 0 || b.length === 0) throw new CompileError('SHAPE_MISMATCH', `${what}: MatMul operands must have rank >= 1`);
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const k = a2[a2.length - 1];
  if (k !== b2[b2.length - 2]) throw new CompileError('SHAPE_MISMATCH', `${what}: inner dimensions differ ([${a.join(',')}] x [${b.join(',')}])`);
  const batch = broadcastShapes(a2.slice(0, -2), b2.slice(0, -2), what);
  const out = [...batch];
  if (a.length > 1) out.push(a2[a2.length - 2]);
  if (b.length > 1) out.push(b2[b2.length - 1]);
  return out;
}

/** Reshape target (Reshape-14): 0 copies the input dim (unless allowzero), one -1 is inferred. */
export function reshapeTarget(inShape: Shape, target: readonly number[], allowZero: boolean, what: string): number[] {
  const out = [...target];
  let inferred = -1;
  for (let i = 0; i < out.length; i++) {
    if (out[i] === 0 && !allowZero) {
      if (i >= inShape.length) throw new CompileError('SHAPE_MISMATCH', `${what}: 0 at position ${i} but the input has rank ${inShape.length}`);
      out[i] = inShape[i];
    } else if (out[i] === -1) {
      if (inferred >= 0) throw new CompileError('BAD_MODEL', `${what}: more than one -1 in shape [${target.join(',')}]`);
      inferred = i;
    } else if (out[i] < 0) {
      throw new CompileError('BAD_MODEL', `${what}: invalid dimension ${out[i]} in shape [${target.join(',')}]`);
    }
  }
  const total = sizeOf(inShape);
  if (inferred >= 0) {
    const rest = sizeOf(out.filter((_, i) => i !== inferred));
    if (rest === 0 || total % rest !== 0) throw new CompileError('SHAPE_MISMATCH', `${what}: cannot reshape [${inShape.join(',')}] to [${target.join(',')}]`);
    out[inferred] = total / rest;
  }
  if (sizeOf(out) !== total) throw new CompileError('SHAPE_MISMATCH', `${what}: cannot reshape [${inShape.join(',')}] (${total} elements) to [${out.join(',')}]`);
  return out;
}
