// MUL, int8: y = requant((a - aZp) * (b - bZp)) with multiplier a_scale * b_scale / out_scale
// (TFLM reference_integer_ops::Mul).
import { multiplyByQuantizedMultiplier } from '../fixed-point.ts';
import type { Kernel } from '../kernel.ts';
import { OpCode } from '../../module/opcodes.ts';
import { binaryOperands } from './binary-operands.ts';

export const mul: Kernel = {
  code: OpCode.MUL,
  prepare(op, ctx) {
    const { a, b, ia, ib } = binaryOperands(op, ctx);
    const y = ctx.view(op.outputs[0]);
    const [, aZp, bZp, outZp, outMult, outShift, actMin, actMax] = op.params;
    return () => {
      for (let i = 0; i < y.length; i++) {
        const acc = (a[ia ? ia[i] : i] - aZp) * (b[ib ? ib[i] : i] - bZp);
        const v = multiplyByQuantizedMultiplier(acc, outMult, outShift) + outZp;
        y[i] = v < actMin ? actMin : v > actMax ? actMax : v;
      }
    };
  },
};
