// ONNX op -> lowering (the quantizer's op resolver).
import type { Node } from '../../ir/graph.ts';
import type { LowerContext } from '../lower-context.ts';
import { lowerActivation } from './activation.ts';
import { lowerAlias } from './alias.ts';
import { lowerBatchNormalization } from './batch-normalization.ts';
import { lowerBinary } from './binary.ts';
import { lowerConv } from './conv.ts';
import { lowerGemm } from './gemm.ts';
import { lowerGlobalAveragePool } from './global-average-pool.ts';
import { lowerPool } from './pool.ts';
import { lowerSoftmax } from './softmax.ts';

export type Lowering = (node: Node, ctx: LowerContext) => void;

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
  Mul: lowerBinary,
  BatchNormalization: lowerBatchNormalization,
  Reshape: lowerAlias,
  Flatten: lowerAlias,
  Identity: lowerAlias,
  Dropout: lowerAlias,
};
