// The pass pipeline, in order. Each pass is a pure (g: Graph) => Graph and keeps float outputs
// unchanged (up to float rounding of folded weights); test/compiler/passes.test.ts checks it.
import type { Graph } from '../ir/graph.ts';
import { eliminateReshape } from './eliminate-reshape.ts';
import { foldBatchNorm } from './fold-batch-norm.ts';
import { foldConstants } from './fold-constants.ts';
import { foldShapes } from './fold-shapes.ts';
import { foldPad } from './fold-pad.ts';
import { fuseActivation } from './fuse-activation.ts';
import { fuseMatMulAdd } from './fuse-matmul-add.ts';
import { removeDeadNodes } from './remove-dead-nodes.ts';
import { removeIdentity } from './remove-identity.ts';

export type Pass = (g: Graph) => Graph;

export const PASSES: readonly (readonly [string, Pass])[] = [
  ['remove-identity', removeIdentity], // first: exposes producer -> consumer pairs to the fusions
  ['fold-shapes', foldShapes], // static Shape -> constant, so the next pass folds x.view(x.size(0), -1)
  ['fold-constants', foldConstants], // Constant-built Clip bounds and reshape targets become initializers
  ['fold-pad', foldPad], // Pad(0) -> Conv / AveragePool padding
  ['fold-batch-norm', foldBatchNorm],
  ['fuse-matmul-add', fuseMatMulAdd],
  ['fuse-activation', fuseActivation], // after BN folding: Conv -> BN -> Relu becomes one Conv
  ['eliminate-reshape', eliminateReshape],
  ['remove-dead-nodes', removeDeadNodes], // last: drops the weights the folds replaced
];

export function runPasses(g: Graph): Graph {
  return PASSES.reduce((acc, [, pass]) => pass(acc), g);
}
