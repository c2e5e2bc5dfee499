// CLAMP: a standalone Relu / Relu6 / Clip (one that could not be fused into its producer), or a plain
// requantization: y = clamp(requant(x - inZp) + outZp, actMin, actMax) (TFLM kernels/activations.cc).
import { multiplyByQuantizedMultiplier } from '../fixed-point.ts';
import type { Kernel } from '../kernel.ts';
import { OpCode } from '../../module/opcodes.ts';

export const clamp: Kernel = {
  code: OpCode.CLAMP,
  prepare(op, ctx) {
    const x = ctx.view(op.inputs[0]);
    const y = ctx.view(op.outputs[0]);
    const [inZp, outZp, mult, shift, actMin, actMax] = op.params;
    return () => {
      for (let i = 0; i < x.length; i++) {
        const v = multiplyByQuantizedMultiplier(x[i] - inZp, mult, shift) + outZp;
        y[i] = v < actMin ? actMin : v > actMax ? actMax : v;
      }
    };
  },
};
