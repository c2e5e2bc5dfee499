// The fast 2-D float convolutions (im2col + blocked GEMM, direct depthwise) against the plain
// definition Y[n,m,oh,ow] = B[m] + sum_{c,kh,kw} X[n, c, oh*s - p + kh*d, ...] * W[m, c, kh, kw],
// summed in double precision in weight order as the kernels do: the outputs must be identical,
// over random geometries (fixed seed) covering strides, dilations, asymmetric pads, groups,
// depthwise with a channel multiplier, 1x1 pointwise, channel and position counts not divisible by 4.
import { describe, expect, it } from 'vitest';
import type { Node } from '../../compiler/ir/graph.ts';
import type { Tensor } from '../../compiler/ir/tensor.ts';
import { conv } from '../../compiler/reference/conv.ts';
import { rng } from './helpers/onnx-builder.ts';

type Case = { N: number; C: number; M: number; group: number; IH: number; IW: number; KH: number; KW: number; S: [number, number]; D: [number, number]; pads: [number, number, number, number]; bias: boolean };

function plainConv(x: Float32Array, w: Float32Array, b: Float32Array | undefined, c: Case, OH: number, OW: number): Float32Array {
  const cg = c.C / c.group;
  const mg = c.M / c.group;
  const y = new Float32Array(c.N * c.M * OH * OW);
  for (let n = 0; n < c.N; n++) for (let m = 0; m < c.M; m++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    let s = b ? b[m] : 0;
    const c0 = Math.floor(m / mg) * cg;
    for (let ci = 0; ci < cg; ci++) for (let kh = 0; kh < c.KH; kh++) for (let kw = 0; kw < c.KW; kw++) {
      const ih = oh * c.S[0] - c.pads[0] + kh * c.D[0];
      const iw = ow * c.S[1] - c.pads[1] + kw * c.D[1];
      if (ih < 0 || ih >= c.IH || iw < 0 || iw >= c.IW) continue;
      s += w[((m * cg + ci) * c.KH + kh) * c.KW + kw] * x[((n * c.C + c0 + ci) * c.IH + ih) * c.IW + iw];
    }
    y[((n * c.M + m) * OH + oh) * OW + ow] = s;
  }
  return y;
}

function randomCase(rand: () => number, i: number): Case {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const kind = i % 4; // 0 dense, 1 depthwise (with multiplier), 2 grouped, 3 pointwise 1x1
  const group = kind === 0 || kind === 3 ? 1 : pick([2, 3, 4]);
  const cg = kind === 1 ? 1 : pick([1, 2, 3, 5]);
  const mg = kind === 1 ? pick([1, 2]) : pick([1, 3, 4, 6, 9]);
  const K = kind === 3 ? 1 : pick([1, 2, 3, 5]);
  return {
    N: pick([1, 2]), C: cg * group, M: mg * group, group, IH: pick([5, 7, 9, 14]), IW: pick([4, 6, 11]),
    KH: K, KW: kind === 3 ? 1 : pick([1, 3]),
    S: kind === 3 ? [1, 1] : [pick([1, 2, 3]), pick([1, 2])], D: kind === 3 ? [1, 1] : [pick([1, 2]), pick([1, 2])],
    pads: kind === 3 ? [0, 0, 0, 0] : [pick([0, 1, 2]), pick([0, 1]), pick([0, 1, 2]), pick([0, 2])], bias: rand() < 0.7,
  };
}

describe('2-D float convolution kernels', () => {
  const rand = rng(1234);
  const fixed: Case[] = [
    // grouped 3x3 "same" convolution: the im2col buffer is reused across groups, padding on every side
    { N: 2, C: 4, M: 6, group: 2, IH: 6, IW: 5, KH: 3, KW: 3, S: [1, 1], D: [1, 1], pads: [1, 1, 1, 1], bias: true },
    // TF-style SAME with stride 2: padding only at the end
    { N: 1, C: 3, M: 5, group: 1, IH: 7, IW: 8, KH: 3, KW: 3, S: [2, 2], D: [1, 1], pads: [0, 0, 1, 1], bias: false },
    { N: 1, C: 6, M: 12, group: 6, IH: 7, IW: 8, KH: 3, KW: 3, S: [2, 2], D: [1, 1], pads: [0, 0, 1, 1], bias: true },
  ];
  const cases = [...fixed, ...Array.from({ length: 60 }, (_, i) => randomCase(rand, i))];
  it.each(cases.map((c, i) => [i, c] as const))('case %i %j equals the plain definition', (_, c) => {
    const OH = Math.floor((c.IH + c.pads[0] + c.pads[2] - ((c.KH - 1) * c.D[0] + 1)) / c.S[0]) + 1;
    const OW = Math.floor((c.IW + c.pads[1] + c.pads[3] - ((c.KW - 1) * c.D[1] + 1)) / c.S[1]) + 1;
    if (OH < 1 || OW < 1) return; // window larger than the padded input: no output to compare
    const fill = (n: number): Float32Array => Float32Array.from({ length: n }, () => rand() * 2 - 1);
    const x = fill(c.N * c.C * c.IH * c.IW);
    const w = fill(c.M * (c.C / c.group) * c.KH * c.KW);
    const b = c.bias ? fill(c.M) : undefined;
    const node: Node = { name: 'conv', op: 'Conv', inputs: ['x', 'w', ...(b ? ['b'] : [])], outputs: ['y'], attrs: { group: c.group, strides: c.S, dilations: c.D, pads: c.pads, kernel_shape: [c.KH, c.KW] } };
    const t = (shape: number[], data: Float32Array): Tensor => ({ dtype: 'float32', shape, data });
    const [y] = conv(node, [t([c.N, c.C, c.IH, c.IW], x), t([c.M, c.C / c.group, c.KH, c.KW], w), b && t([c.M], b)], 13);
    expect(y.shape).toEqual([c.N, c.M, OH, OW]);
    const want = plainConv(x, w, b, c, OH, OW);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs((y.data as Float32Array)[i] - want[i]));
    expect(worst).toBe(0);
  });

  it('at least 40 of the random geometries produce an output (the cases are not vacuous)', () => {
    const live = cases.filter((c) => c.IH + c.pads[0] + c.pads[2] >= (c.KH - 1) * c.D[0] + 1 && c.IW + c.pads[1] + c.pads[3] >= (c.KW - 1) * c.D[1] + 1);
    expect(live.length).toBeGreaterThanOrEqual(40);
  });
});
