// A Relu or constant Clip the fusion pass could not fold into a producer -> CLAMP: requantize from
// the input to the (calibrated) output scale and clamp to the activation's bounds.
import { CompileError } from '../../ir/compile-error.ts';
import type { Node } from '../../ir/graph.ts';
import { OpCode } from '../../module/opcodes.ts';
import type { LowerContext } from '../lower-context.ts';
import { quantizeValue } from '../quant-params.ts';
import { quantizeMultiplier } from '../quantize-multiplier.ts';

function bound(node: Node, ctx: LowerContext, i: number, attr: string, dflt: number): number {
  const name = node.inputs[i];
  if (name) {
    const t = ctx.initializer(name);
    if (!t || !(t.data instanceof Float32Array) || t.data.length !== 1) {
      throw new CompileError('UNSUPPORTED_OP', `Clip node '${node.name}': bound '${name}' must be a constant scalar`);
    }
    return t.data[0];
  }
  const a = node.attrs[attr];
  return typeof a === 'number' ? a : dflt;
}

export function lowerActivation(node: Node, ctx: LowerContext): void {
  const x = ctx.use(node.inputs[0], node);
  const [lo, hi] = node.op === 'Relu' ? [0, Infinity] : [bound(node, ctx, 1, 'min', -Infinity), bound(node, ctx, 2, 'max', Infinity)];
  const qi = ctx.quantOf(x);
  const y = ctx.define(node.outputs[0], node);
  const qo = ctx.quantOf(y);
  const m = quantizeMultiplier(qi.scale / qo.scale);
  const params = [qi.zeroPoint, qo.zeroPoint, m.multiplier, m.shift, quantizeValue(lo, qo), quantizeValue(hi, qo)];
  ctx.emit({ code: OpCode.CLAMP, inputs: [x], outputs: [y], consts: [], params }, node, 0);
}
