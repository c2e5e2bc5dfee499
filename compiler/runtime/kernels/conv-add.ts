// CONV_ADD: a convolution whose output is only one operand of an ADD with a same-shape activation
// (the residual of a ResNet block), fused so the convolution's output is never resident: each
// output element is the int8 conv value, then TFLM's int8 ADD with the residual element (add.ts).
// Same integers as the two ops, so bit-identical. The output may overwrite the residual in place
// (the planner does so when the residual dies here): element i of the residual is read just before
// element i of the output is written, and the convolution reads only its own input.
import { multiplyByQuantizedMultiplier } from '../fixed-point.ts';
import type { Kernel } from '../kernel.ts';
import { CONV_ADD_CONV_AT, OpCode } from '../../module/opcodes.ts';
import { convCoreOf } from './conv-params.ts';

export const convAdd: Kernel = {
  code: OpCode.CONV_ADD,
  prepare(op, ctx) {
    const x = ctx.view(op.inputs[0]);
    const r = ctx.view(op.inputs[1]);
    const y = ctx.view(op.outputs[0]);
    const [, co, ho, wo] = ctx.tensor(op.outputs[0]).shape;
    const [convSide, aZp, bZp, outZp, leftShift, aMult, aShift, bMult, bShift, outMult, outShift, actMin, actMax] = op.params;
    const lift = 2 ** leftShift;
    // the conv value enters as the ADD operand on its side, the residual as the other
    const [cZp, cMult, cShift, rZp, rMult, rShift] = convSide === 0 ? [aZp, aMult, aShift, bZp, bMult, bShift] : [bZp, bMult, bShift, aZp, aMult, aShift];
    const { core } = convCoreOf(op, ctx, CONV_ADD_CONV_AT, co, ho, wo);
    const { value, quad, quadInside, quadOut } = core;
    const addAt = (i: number, conv: number): void => {
      const cv = multiplyByQuantizedMultiplier((conv - cZp) * lift, cMult, cShift);
      const rv = multiplyByQuantizedMultiplier((r[i] - rZp) * lift, rMult, rShift);
      const v = multiplyByQuantizedMultiplier(convSide === 0 ? cv + rv : rv + cv, outMult, outShift) + outZp;
      y[i] = v < actMin ? actMin : v > actMax ? actMax : v;
    };
    return () => {
      for (let oc = 0; oc < co; oc++) {
        for (let oy = 0; oy < ho; oy++) {
          const i = (oc * ho + oy) * wo;
          for (let ox = 0; ox < wo; ox++) {
            if (quadInside(oy, ox)) {
              quad(x, oc, oy, ox);
              for (let k = 0; k < 4; k++) addAt(i + ox + k, quadOut[k]);
              ox += 3;
            } else {
              addAt(i + ox, value(x, oc, oy, ox));
            }
          }
        }
      }
    };
  },
};
