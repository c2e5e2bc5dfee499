// ONNX op -> lowering (the quantizer's op resolver), and what each lowering refuses. The refusals
// are checked on the whole graph before calibration (int8-support.ts), so a model is turned away
// with every offending node listed instead of failing on the first one after minutes of work.
import { attrInt, attrInts } from '../../ir/attrs.ts';
import type { Graph, Node } from '../../ir/graph.ts';
import { UNARY_FUNCTIONS } from '../../ir/unary-functions.ts';
import type { LowerContext } from '../lower-context.ts';
import { lowerActivation } from './activation.ts';
import { lowerAlias } from './alias.ts';
import { lowerBatchNormalization } from './batch-normalization.ts';
import { lowerBinary } from './binary.ts';
import { lowerConcat } from './concat.ts';
import { lowerConv } from './conv.ts';
import { lowerGemm } from './gemm.ts';
import { lowerGlobalAveragePool } from './global-average-pool.ts';
import { lowerPRelu, lowerUnary, preluRefusal } from './lookup-table.ts';
import { lowerPool } from './pool.ts';
import { lowerSoftmax } from './softmax.ts';
import { lowerTranspose } from './transpose.ts';

export type Lowering = (node: Node, ctx: LowerContext) => void;

/** Why this node cannot be lowered (undefined: it can), judged from the graph alone. */
export type Refusal = (node: Node, g: Graph) => string | undefined;

export const LOWERINGS: Readonly<Record<string, Lowering>> = {
  Conv: lowerConv,
  Gemm: lowerGemm,
  MatMul: lowerGemm,
  MaxPool: lowerPool,
  AveragePool: lowerPool,
  GlobalAveragePool: lowerGlobalAveragePool,
  Softmax: lowerSoftmax,
  Relu: lowerActivation,
  Clip: lowerActivation,
  Add: lowerBinary,
  Sub: lowerBinary,
  Mul: lowerBinary,
  Div: lowerBinary,
  BatchNormalization: lowerBatchNormalization,
  Concat: lowerConcat,
  Transpose: lowerTranspose,
  PRelu: lowerPRelu,
  Reshape: lowerAlias,
  Flatten: lowerAlias,
  Identity: lowerAlias,
  Dropout: lowerAlias,
  Squeeze: lowerAlias,
  Pad: lowerAlias, // only all-zero pads reach here (REFUSALS)
  Unsqueeze: lowerAlias,
  ...Object.fromEntries(Object.keys(UNARY_FUNCTIONS).map((op) => [op, lowerUnary])),
};

const shape = (g: Graph, v: string): readonly number[] => g.values.get(v)?.shape ?? [];
const isConst = (g: Graph, v: string): boolean => g.initializers.has(v);

const constScalar = (g: Graph, v: string | undefined): boolean => {
  if (!v) return true;
  const t = g.initializers.get(v);
  return t !== undefined && t.data instanceof Float32Array && t.data.length === 1;
};

export const REFUSALS: Readonly<Record<string, Refusal>> = {
  Conv: (n, g) => {
    if (!isConst(g, n.inputs[1])) return 'the weights must be constant';
    if (n.inputs[2] && !isConst(g, n.inputs[2])) return 'the bias must be constant';
    if (shape(g, n.inputs[0]).length !== 4) return `only 2-D convolution (input rank ${shape(g, n.inputs[0]).length})`;
    return undefined;
  },
  Gemm: (n, g) => {
    const b = g.initializers.get(n.inputs[1]);
    if (!b || b.shape.length !== 2) return 'the right operand must be a constant matrix';
    if (shape(g, n.inputs[0]).length !== 2) return `the left operand must be 2-D, got [${shape(g, n.inputs[0]).join(',')}]`;
    if (attrInt(n, 'transA', 0) !== 0) return 'transA=1';
    if (n.inputs[2] && !isConst(g, n.inputs[2])) return 'C must be constant';
    const c = n.inputs[2] ? g.initializers.get(n.inputs[2]) : undefined;
    const cols = attrInt(n, 'transB', 0) === 1 ? b.shape[0] : b.shape[1];
    if (c && c.data.length !== 1 && c.data.length !== cols) return `C of shape [${c.shape.join(',')}] (a bias of 1 or ${cols} values)`;
    return undefined;
  },
  MatMul: (n, g) => {
    const b = g.initializers.get(n.inputs[1]);
    if (!b || b.shape.length !== 2) return 'the right operand must be a constant matrix';
    if (shape(g, n.inputs[0]).length !== 2) return `the left operand must be 2-D, got [${shape(g, n.inputs[0]).join(',')}]`;
    return undefined;
  },
  MaxPool: (n, g) => poolRefusal(n, g),
  AveragePool: (n, g) => poolRefusal(n, g),
  GlobalAveragePool: (n, g) => (shape(g, n.inputs[0]).length < 3 ? 'input rank below 3' : undefined),
  Softmax: (n, g) => {
    const rank = shape(g, n.inputs[0]).length;
    const axis = attrInt(n, 'axis', g.opset >= 13 ? -1 : 1);
    return g.opset >= 13 && rank > 4 && axis !== -1 && axis !== rank - 1 ? `axis ${axis} of a rank-${rank} input` : undefined;
  },
  Clip: (n, g) => (constScalar(g, n.inputs[1]) && constScalar(g, n.inputs[2]) ? undefined : 'the bounds must be constant scalars'),
  Add: (n, g) => binaryRefusal(n, g),
  Sub: (n, g) => binaryRefusal(n, g),
  Mul: (n, g) => binaryRefusal(n, g),
  Div: (n, g) => (!isConst(g, n.inputs[1]) || isConst(g, n.inputs[0]) ? 'only division of an activation by a constant' : binaryRefusal(n, g)),
  BatchNormalization: (n, g) => {
    if (shape(g, n.inputs[0]).length !== 4) return `only 4-D NCHW input, got rank ${shape(g, n.inputs[0]).length}`;
    return n.inputs.slice(1, 5).every((v) => isConst(g, v)) ? undefined : 'scale, bias, mean and variance must be constant';
  },
  Concat: (n, g) => (n.inputs.some((v) => isConst(g, v)) ? 'a constant input (only activations are concatenated)' : undefined),
  Transpose: (n, g) => (shape(g, n.inputs[0]).length > 4 ? `rank ${shape(g, n.inputs[0]).length} (at most 4)` : undefined),
  Pad: (n, g) => {
    const pads = g.initializers.get(n.inputs[1]);
    return pads && Array.from(pads.data as BigInt64Array, Number).every((p) => p === 0) ? undefined : 'non-zero padding (fold it into the next Conv or pool)';
  },
  PRelu: (n, g) => preluRefusal(n, { initializer: (v) => g.initializers.get(v), shapeOf: (v) => shape(g, v) }),
};

function poolRefusal(n: Node, g: Graph): string | undefined {
  if (shape(g, n.inputs[0]).length !== 4) return `only 2-D pooling (input rank ${shape(g, n.inputs[0]).length})`;
  if (n.outputs.length > 1 && n.outputs[1]) return 'the Indices output';
  if ((attrInts(n, 'dilations') ?? []).some((d) => d !== 1)) return 'dilated pooling';
  return undefined;
}

function binaryRefusal(n: Node, g: Graph): string | undefined {
  if (isConst(g, n.inputs[0]) && isConst(g, n.inputs[1])) return 'both operands constant';
  return undefined;
}

/** The ONNX operators the int8 path lowers (`compiler/cli.ts ops` prints them). */
export const INT8_OPS: readonly string[] = Object.keys(LOWERINGS).sort();
