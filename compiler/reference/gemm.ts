// Gemm (Gemm-13): Y = alpha * A' * B' + beta * C, A' = transA ? A^T : A, B' = transB ? B^T : B,
// C unidirectionally broadcast to [M, N]; plus the optional fused activation.
import { attrFloat, attrInt } from '../ir/attrs.ts';
import { applyFusedActivation, readFusedActivation } from '../ir/fused-activation.ts';
import { broadcastStrides } from '../shape-inference/broadcast.ts';
import type { Kernel } from './kernel.ts';
import { floatInput, floatTensor, input } from './kernel.ts';

export const gemm: Kernel = (node, inputs) => {
  const aShape = input(node, inputs, 0).shape;
  const bShape = input(node, inputs, 1).shape;
  const a = floatInput(node, inputs, 0);
  const b = floatInput(node, inputs, 1);
  const transA = attrInt(node, 'transA', 0) !== 0;
  const transB = attrInt(node, 'transB', 0) !== 0;
  const alpha = attrFloat(node, 'alpha', 1);
  const beta = attrFloat(node, 'beta', 1);
  const [M, K] = transA ? [aShape[1], aShape[0]] : [aShape[0], aShape[1]];
  const N = transB ? bShape[0] : bShape[1];
  // element strides so that A'[i,k] = a[i*ai + k*ak] and B'[k,j] = b[k*bk + j*bj]
  const [ai, ak] = transA ? [1, M] : [K, 1];
  const [bk, bj] = transB ? [1, K] : [N, 1];
  const y = new Float32Array(M * N);
  const acc = new Float64Array(N);
  for (let i = 0; i < M; i++) {
    acc.fill(0);
    for (let kk = 0; kk < K; kk++) {
      const av = a[i * ai + kk * ak];
      if (av === 0) continue;
      const bRow = kk * bk;
      for (let j = 0; j < N; j++) acc[j] += av * b[bRow + j * bj];
    }
    for (let j = 0; j < N; j++) y[i * N + j] = alpha * acc[j];
  }
  if (inputs[2] && beta !== 0) {
    const c = floatInput(node, inputs, 2);
    const [si, sj] = broadcastStrides(input(node, inputs, 2).shape, [M, N]);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) y[i * N + j] += beta * c[i * si + j * sj];
  }
  applyFusedActivation(y, readFusedActivation(node));
  return [floatTensor([M, N], y)];
};
