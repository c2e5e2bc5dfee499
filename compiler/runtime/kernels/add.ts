// ADD, int8 with different input scales: TFLM's reference_integer_ops::Add. Both inputs are lifted
// by 2^leftShift (20), rescaled to a common scale (2 * max input scale), summed, then requantized.
import { multiplyByQuantizedMultiplier } from '../fixed-point.ts';
import type { Kernel } from '../kernel.ts';
import { OpCode } from '../../module/opcodes.ts';
import { binaryOperands } from './binary-operands.ts';

export const add: Kernel = {
  code: OpCode.ADD,
  prepare(op, ctx) {
    const { a, b, ia, ib } = binaryOperands(op, ctx);
    const y = ctx.view(op.outputs[0]);
    const [, aZp, bZp, outZp, leftShift, aMult, aShift, bMult, bShift, outMult, outShift, actMin, actMax] = op.params;
    const lift = 2 ** leftShift;
    return () => {
      for (let i = 0; i < y.length; i++) {
        const av = multiplyByQuantizedMultiplier((a[ia ? ia[i] : i] - aZp) * lift, aMult, aShift);
        const bv = multiplyByQuantizedMultiplier((b[ib ? ib[i] : i] - bZp) * lift, bMult, bShift);
        const v = multiplyByQuantizedMultiplier(av + bv, outMult, outShift) + outZp;
        y[i] = v < actMin ? actMin : v > actMax ? actMax : v;
      }
    };
  },
};
