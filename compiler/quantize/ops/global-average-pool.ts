// ONNX GlobalAveragePool -> GLOBAL_AVERAGE_POOL with its own calibrated output scale; 1/(H*W) is
// folded into the requantization multiplier.
import type { Node } from '../../ir/graph.ts';
import { OpCode } from '../../module/opcodes.ts';
import type { LowerContext } from '../lower-context.ts';
import { quantizeMultiplier } from '../quantize-multiplier.ts';

export function lowerGlobalAveragePool(node: Node, ctx: LowerContext): void {
  const x = ctx.useShaped(node.inputs[0], node);
  const shape = ctx.shapeOf(node.inputs[0]);
  const spatial = shape.slice(2).reduce((a, b) => a * b, 1);
  const qi = ctx.quantOf(x);
  const y = ctx.define(node.outputs[0], node);
  const qo = ctx.quantOf(y);
  const m = quantizeMultiplier(qi.scale / (qo.scale * spatial));
  ctx.emit({ code: OpCode.GLOBAL_AVERAGE_POOL, inputs: [x], outputs: [y], consts: [], params: [qi.zeroPoint, qo.zeroPoint, m.multiplier, m.shift] }, node, shape[1] * spatial);
}
