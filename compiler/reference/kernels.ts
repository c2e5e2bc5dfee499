// Operator name -> float reference kernel (TFLite Micro's op resolver, as a plain record).
import { add } from './add.ts';
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
import { mul } from './mul.ts';
import { relu } from './relu.ts';
import { reshape } from './reshape.ts';
import { sigmoid } from './sigmoid.ts';
import { softmax } from './softmax.ts';
import { tanh } from './tanh.ts';
import { transpose } from './transpose.ts';

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
  Relu: relu,
  Reshape: reshape,
  Sigmoid: sigmoid,
  Softmax: softmax,
  Tanh: tanh,
  Transpose: transpose,
};
