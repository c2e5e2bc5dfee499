// Conv (Conv-11): grouped/depthwise N-D convolution (N-D = 1, 2, 3) with pads, auto_pad, strides
// and dilations, plus the optional fused activation written by passes/fuse-activation.ts.
//   Y[n, m, o] = B[m] + sum_{c in group(m), k} X[n, c, o*s - pb + k*d] * W[m, c, k]
// Loop order: for each weight tap, sweep the output rows (weight-stationary), so the innermost
// loop is a contiguous, bounds-free multiply-add over one output row.
import { attrInt } from '../ir/attrs.ts';
import { applyFusedActivation, readFusedActivation } from '../ir/fused-activation.ts';
import { windowGeometry } from '../shape-inference/window-geometry.ts';
import type { Kernel } from './kernel.ts';
import { floatInput, floatTensor, input } from './kernel.ts';
import { spatial3 } from './spatial.ts';

export const conv: Kernel = (node, inputs) => {
  const xShape = input(node, inputs, 0).shape;
  const wShape = input(node, inputs, 1).shape;
  const x = floatInput(node, inputs, 0);
  const w = floatInput(node, inputs, 1);
  const bias = inputs[2] ? floatInput(node, inputs, 2) : undefined;
  const group = attrInt(node, 'group', 1);
  const g = windowGeometry(node, xShape.slice(2), wShape.slice(2), false);
  const { inp, out, k, s, d, pb } = spatial3(xShape.slice(2), g);
  const [N, C] = xShape;
  const M = wShape[0];
  const cg = C / group;
  const mg = M / group;
  const [ID, IH, IW] = inp;
  const [OD, OH, OW] = out;
  const [KD, KH, KW] = k;
  const inPlane = ID * IH * IW;
  const outPlane = OD * OH * OW;
  const y = new Float32Array(N * M * outPlane);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const yBase = (n * M + m) * outPlane;
      if (bias) y.fill(bias[m], yBase, yBase + outPlane);
      const c0 = Math.floor(m / mg) * cg;
      for (let c = 0; c < cg; c++) {
        const xBase = (n * C + c0 + c) * inPlane;
        const wBase = (m * cg + c) * KD * KH * KW;
        for (let kd = 0; kd < KD; kd++) {
          for (let kh = 0; kh < KH; kh++) {
            for (let kw = 0; kw < KW; kw++) {
              const wv = w[wBase + (kd * KH + kh) * KW + kw];
              const offW = kw * d[2] - pb[2];
              // output columns whose input column ow*s - pb + kw*d lies inside [0, IW)
              const owLo = Math.max(0, Math.ceil(-offW / s[2]));
              const owHi = Math.min(OW, Math.floor((IW - 1 - offW) / s[2]) + 1);
              if (owLo >= owHi) continue;
              for (let od = 0; od < OD; od++) {
                const id = od * s[0] - pb[0] + kd * d[0];
                if (id < 0 || id >= ID) continue;
                for (let oh = 0; oh < OH; oh++) {
                  const ih = oh * s[1] - pb[1] + kh * d[1];
                  if (ih < 0 || ih >= IH) continue;
                  const yRow = yBase + (od * OH + oh) * OW;
                  const xRow = xBase + (id * IH + ih) * IW + offW;
                  const sw = s[2];
                  for (let ow = owLo; ow < owHi; ow++) y[yRow + ow] += wv * x[xRow + ow * sw];
                }
              }
            }
          }
        }
      }
    }
  }
  applyFusedActivation(y, readFusedActivation(node));
  return [floatTensor([N, M, ...g.out], y)];
};
