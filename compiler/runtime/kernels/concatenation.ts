// CONCATENATION along one axis: the output is `outer` rows, each the inputs' blocks side by side
// (block = the input's axis length x the product of the dims after the axis). An input whose scale
// and zero point differ from the output's is requantized on the way (TFLM concatenation.cc copies
// only; its converter forces one scale, ours requantizes when calibration gave different ones).
import { multiplyByQuantizedMultiplier } from '../fixed-point.ts';
import type { Kernel } from '../kernel.ts';
import { OpCode } from '../../module/opcodes.ts';

export const concatenation: Kernel = {
  code: OpCode.CONCATENATION,
  prepare(op, ctx) {
    const y = ctx.view(op.outputs[0]);
    const [outZp, outer] = op.params;
    const parts = op.inputs.map((t, k) => {
      const [block, inZp, multiplier, shift] = op.params.slice(2 + 4 * k, 6 + 4 * k);
      // multiplier 2^30 with shift 1 is exactly 1: with equal zero points the block is a plain copy
      const identity = multiplier === 1073741824 && shift === 1 && inZp === outZp;
      return { x: ctx.view(t), block, inZp, multiplier, shift, identity };
    });
    const rowBytes = parts.reduce((a, p) => a + p.block, 0);
    return () => {
      for (let o = 0; o < outer; o++) {
        let at = o * rowBytes;
        for (const p of parts) {
          const from = o * p.block;
          if (p.identity) {
            y.set(p.x.subarray(from, from + p.block), at);
          } else {
            for (let i = 0; i < p.block; i++) {
              const v = multiplyByQuantizedMultiplier(p.x[from + i] - p.inZp, p.multiplier, p.shift) + outZp;
              y[at + i] = v < -128 ? -128 : v > 127 ? 127 : v;
            }
          }
          at += p.block;
        }
      }
    };
  },
};
