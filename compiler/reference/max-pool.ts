// MaxPool (MaxPool-12): max over each (dilated) window; padded positions never win.
import { windowGeometry } from '../shape-inference/window-geometry.ts';
import { attrInts } from '../ir/attrs.ts';
import type { Kernel } from './kernel.ts';
import { floatInput, floatTensor, input } from './kernel.ts';
import { spatial3 } from './spatial.ts';

export const maxPool: Kernel = (node, inputs) => {
  const xShape = input(node, inputs, 0).shape;
  const x = floatInput(node, inputs, 0);
  const g = windowGeometry(node, xShape.slice(2), attrInts(node, 'kernel_shape') ?? [], true);
  const { inp, out, k, s, d, pb } = spatial3(xShape.slice(2), g);
  const planes = xShape[0] * xShape[1];
  const inPlane = inp[0] * inp[1] * inp[2];
  const outPlane = out[0] * out[1] * out[2];
  const y = new Float32Array(planes * outPlane);
  for (let p = 0; p < planes; p++) {
    let o = p * outPlane;
    const xBase = p * inPlane;
    for (let od = 0; od < out[0]; od++) {
      for (let oh = 0; oh < out[1]; oh++) {
        for (let ow = 0; ow < out[2]; ow++, o++) {
          let best = -Infinity;
          for (let kd = 0; kd < k[0]; kd++) {
            const id = od * s[0] - pb[0] + kd * d[0];
            if (id < 0 || id >= inp[0]) continue;
            for (let kh = 0; kh < k[1]; kh++) {
              const ih = oh * s[1] - pb[1] + kh * d[1];
              if (ih < 0 || ih >= inp[1]) continue;
              const row = xBase + (id * inp[1] + ih) * inp[2];
              for (let kw = 0; kw < k[2]; kw++) {
                const iw = ow * s[2] - pb[2] + kw * d[2];
                if (iw < 0 || iw >= inp[2]) continue;
                const v = x[row + iw];
                if (v > best || Number.isNaN(v)) best = v;
              }
            }
          }
          y[o] = best;
        }
      }
    }
  }
  return [floatTensor([xShape[0], xShape[1], ...g.out], y)];
};
