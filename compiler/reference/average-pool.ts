// AveragePool (AveragePool-11): mean over each window. The divisor counts the window positions
// inside the input, or with count_include_pad=1 also those inside the explicit/auto padding (but
// never the overhang a ceil_mode window may have beyond the end padding, as onnxruntime does).
import { attrInt, attrInts } from '../ir/attrs.ts';
import { windowGeometry } from '../shape-inference/window-geometry.ts';
import type { Kernel } from './kernel.ts';
import { floatInput, floatTensor, input } from './kernel.ts';
import { spatial3 } from './spatial.ts';

export const averagePool: Kernel = (node, inputs) => {
  const xShape = input(node, inputs, 0).shape;
  const x = floatInput(node, inputs, 0);
  const g = windowGeometry(node, xShape.slice(2), attrInts(node, 'kernel_shape') ?? [], true);
  const { inp, out, k, s, d, pb, pe } = spatial3(xShape.slice(2), g);
  const includePad = attrInt(node, 'count_include_pad', 0) !== 0;
  const planes = xShape[0] * xShape[1];
  const inPlane = inp[0] * inp[1] * inp[2];
  const outPlane = out[0] * out[1] * out[2];
  const y = new Float32Array(planes * outPlane);
  // the range a position must fall in to be counted
  const lo = includePad ? pb.map((p) => -p) : [0, 0, 0];
  const hi = includePad ? inp.map((v, i) => v + pe[i]) : inp;
  for (let p = 0; p < planes; p++) {
    let o = p * outPlane;
    const xBase = p * inPlane;
    for (let od = 0; od < out[0]; od++) {
      for (let oh = 0; oh < out[1]; oh++) {
        for (let ow = 0; ow < out[2]; ow++, o++) {
          let sum = 0;
          let count = 0;
          for (let kd = 0; kd < k[0]; kd++) {
            const id = od * s[0] - pb[0] + kd * d[0];
            if (id < lo[0] || id >= hi[0]) continue;
            for (let kh = 0; kh < k[1]; kh++) {
              const ih = oh * s[1] - pb[1] + kh * d[1];
              if (ih < lo[1] || ih >= hi[1]) continue;
              for (let kw = 0; kw < k[2]; kw++) {
                const iw = ow * s[2] - pb[2] + kw * d[2];
                if (iw < lo[2] || iw >= hi[2]) continue;
                count++;
                if (id >= 0 && id < inp[0] && ih >= 0 && ih < inp[1] && iw >= 0 && iw < inp[2]) {
                  sum += x[xBase + (id * inp[1] + ih) * inp[2] + iw];
                }
              }
            }
          }
          y[o] = count > 0 ? sum / count : 0;
        }
      }
    }
  }
  return [floatTensor([xShape[0], xShape[1], ...g.out], y)];
};
