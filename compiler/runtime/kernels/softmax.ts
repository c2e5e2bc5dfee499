// SOFTMAX over rows of `depth` innermost elements (the last axis, or all axes from ONNX's axis before opset 13), int8 in, int8 out with scale 1/256 and zero point -128: TFLite's
// integer-only reference softmax (reference/softmax.h), bit for bit. beta * input_scale is folded at
// compile time into inputMultiplier / inputLeftShift; differences below diffMin give exp ≈ 0.
import { saturatingRoundingDoublingHighMul as srdhm, roundingDivideByPOT } from '../fixed-point.ts';
import { expOnNegativeValues, getReciprocal, saturatingRoundingMultiplyByPOT } from '../softmax-fixed-point.ts';
import type { Kernel } from '../kernel.ts';
import { OpCode } from '../../module/opcodes.ts';

const ACCUMULATION_INTEGER_BITS = 12;

export const softmax: Kernel = {
  code: OpCode.SOFTMAX,
  prepare(op, ctx) {
    const x = ctx.view(op.inputs[0]);
    const y = ctx.view(op.outputs[0]);
    const [inputMultiplier, inputLeftShift, diffMin, outZp, depth] = op.params;
    const outer = x.length / depth;
    const leftScale = 2 ** inputLeftShift;
    const exps = new Int32Array(depth); // per-row scratch, not an activation
    return () => {
      for (let r = 0; r < outer; r++) {
        const base = r * depth;
        let max = -128;
        for (let c = 0; c < depth; c++) if (x[base + c] > max) max = x[base + c];
        let sum = 0; // FixedPoint<int32, 12>
        for (let c = 0; c < depth; c++) {
          const diff = x[base + c] - max;
          if (diff >= diffMin) {
            // MultiplyByQuantizedMultiplierGreaterThanOne -> FixedPoint<int32, 5>
            const e = expOnNegativeValues(srdhm(diff * leftScale, inputMultiplier));
            exps[c] = e;
            sum = (sum + saturatingRoundingMultiplyByPOT(e, -ACCUMULATION_INTEGER_BITS)) | 0;
          } else {
            exps[c] = 0;
          }
        }
        const { reciprocal, numBitsOverUnit } = getReciprocal(sum, ACCUMULATION_INTEGER_BITS);
        for (let c = 0; c < depth; c++) {
          if (x[base + c] - max < diffMin) { y[base + c] = -128; continue; }
          const unsat = roundingDivideByPOT(srdhm(reciprocal, exps[c]), numBitsOverUnit + 31 - 8);
          const v = unsat + outZp;
          y[base + c] = v < -128 ? -128 : v > 127 ? 127 : v;
        }
      }
    };
  },
};
