// Operator name -> float reference kernel (TFLite Micro's op resolver, as a plain record).
import { add, div, mul, prelu, sub } from './arithmetic.ts';
import { averagePool } from './average-pool.ts';
import { batchNormalization } from './batch-normalization.ts';
import { clip } from './clip.ts';
import { concat } from './concat.ts';
import { conv } from './conv.ts';
import { dropout } from './dropout.ts';
import { flatten } from './flatten.ts';
import { gemm } from './gemm.ts';
import { globalAveragePool } from './global-average-pool.ts';
import { identity } from './identity.ts';
import type { Kernel } from './kernel.ts';
import { matmul } from './matmul.ts';
import { maxPool } from './max-pool.ts';
import { relu } from './relu.ts';
import { reshape } from './reshape.ts';
import { softmax } from './softmax.ts';
import { transpose } from './transpose.ts';
import { unary } from './unary.ts';
import { gather, pad, shape, squeeze, unsqueeze } from './shape-ops.ts';
import { UNARY_FUNCTIONS } from '../ir/unary-functions.ts';

export const KERNELS: Readonly<Record<string, Kernel>> = {
  Add: add,
  AveragePool: averagePool,
  BatchNormalization: batchNormalization,
  Clip: clip,
  Concat: concat,
  Conv: conv,
  Dropout: dropout,
  Flatten: flatten,
  Gemm: gemm,
  GlobalAveragePool: globalAveragePool,
  Identity: identity,
  MatMul: matmul,
  MaxPool: maxPool,
  Mul: mul,
  Sub: sub,
  Div: div,
  PRelu: prelu,
  Relu: relu,
  Reshape: reshape,
  Softmax: softmax,
  Transpose: transpose,
  Shape: shape,
  Pad: pad,
  Gather: gather,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  ...Object.fromEntries(Object.keys(UNARY_FUNCTIONS).map((op) => [op, unary])),
};
