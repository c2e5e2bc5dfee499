// MatMul (MatMul-13): numpy.matmul, with batch broadcasting and 1-D operand promotion; plus the
// optional fused activation.
import { applyFusedActivation, readFusedActivation } from '../ir/fused-activation.ts';
import { sizeOf } from '../ir/tensor.ts';
import { broadcastShapes, broadcastStrides } from '../shape-inference/broadcast.ts';
import { matmulShape } from '../shape-inference/op-shapes.ts';
import type { Kernel } from './kernel.ts';
import { floatInput, floatTensor, input } from './kernel.ts';

export const matmul: Kernel = (node, inputs) => {
  const aShape0 = input(node, inputs, 0).shape;
  const bShape0 = input(node, inputs, 1).shape;
  const a = floatInput(node, inputs, 0);
  const b = floatInput(node, inputs, 1);
  const what = `MatMul node '${node.name}'`;
  const outShape = matmulShape(aShape0, bShape0, what);
  const aShape = aShape0.length === 1 ? [1, aShape0[0]] : aShape0;
  const bShape = bShape0.length === 1 ? [bShape0[0], 1] : bShape0;
  const M = aShape[aShape.length - 2];
  const K = aShape[aShape.length - 1];
  const N = bShape[bShape.length - 1];
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  const batch = broadcastShapes(aBatch, bBatch, what);
  const nBatch = sizeOf(batch);
  const sa = broadcastStrides(aBatch, batch);
  const sb = broadcastStrides(bBatch, batch);
  const y = new Float32Array(nBatch * M * N);
  const acc = new Float64Array(N);
  for (let t = 0; t < nBatch; t++) {
    // batch index t -> offsets into a and b (in matrices)
    let rem = t;
    let oa = 0;
    let ob = 0;
    for (let d = batch.length - 1; d >= 0; d--) {
      const idx = rem % batch[d];
      rem = Math.floor(rem / batch[d]);
      oa += idx * sa[d];
      ob += idx * sb[d];
    }
    const aOff = oa * M * K;
    const bOff = ob * K * N;
    const yOff = t * M * N;
    for (let i = 0; i < M; i++) {
      acc.fill(0);
      for (let k = 0; k < K; k++) {
        const av = a[aOff + i * K + k];
        const bRow = bOff + k * N;
        for (let j = 0; j < N; j++) acc[j] += av * b[bRow + j];
      }
      for (let j = 0; j < N; j++) y[yOff + i * N + j] = acc[j];
    }
  }
  applyFusedActivation(y, readFusedActivation(node));
  return [floatTensor(outShape, y)];
};
