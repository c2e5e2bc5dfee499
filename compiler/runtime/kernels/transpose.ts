// TRANSPOSE (any permutation up to rank 4): y[i0,i1,i2,i3] = x at the permuted index. Input and
// output share scale and zero point, so it only moves bytes. Strides are resolved at prepare time.
import type { Kernel } from '../kernel.ts';
import { OpCode } from '../../module/opcodes.ts';

export const transpose: Kernel = {
  code: OpCode.TRANSPOSE,
  prepare(op, ctx) {
    const x = ctx.view(op.inputs[0]);
    const y = ctx.view(op.outputs[0]);
    const rank = op.params[0];
    const perm = op.params.slice(1, 5);
    // the input as the graph saw it (its arena tensor may be a Reshape alias with another shape)
    const inShape = op.params.slice(5, 5 + rank);
    // pad to rank 4 with leading 1s: the permutation keeps its relative order
    const pad = 4 - rank;
    const xs = [...Array(pad).fill(1), ...inShape];
    const p4 = [0, 1, 2, 3].map((i) => (i < pad ? i : perm[i - pad] + pad));
    const inStride = [xs[1] * xs[2] * xs[3], xs[2] * xs[3], xs[3], 1];
    const [d0, d1, d2, d3] = p4.map((p) => xs[p]);
    const [s0, s1, s2, s3] = p4.map((p) => inStride[p]);
    return () => {
      let o = 0;
      for (let a = 0; a < d0; a++) {
        for (let b = 0; b < d1; b++) {
          for (let c = 0; c < d2; c++) {
            let i = a * s0 + b * s1 + c * s2;
            for (let d = 0; d < d3; d++, i += s3) y[o++] = x[i];
          }
        }
      }
    };
  },
};
