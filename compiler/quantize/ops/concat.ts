// ONNX Concat (any axis) -> CONCATENATION. The output scale comes from calibration (it covers every
// input's range); an input with another scale or zero point is requantized by the kernel, one with
// the same is copied.
import { attrInt } from '../../ir/attrs.ts';
import type { Node } from '../../ir/graph.ts';
import { normAxis, sizeOf } from '../../ir/tensor.ts';
import { OpCode } from '../../module/opcodes.ts';
import type { LowerContext } from '../lower-context.ts';
import { quantizeMultiplier } from '../quantize-multiplier.ts';

export function lowerConcat(node: Node, ctx: LowerContext): void {
  const shape = ctx.shapeOf(node.outputs[0]);
  const axis = normAxis(attrInt(node, 'axis', 0), shape.length, `Concat node '${node.name}'`);
  const outer = sizeOf(shape.slice(0, axis));
  const inner = sizeOf(shape.slice(axis + 1));
  const inputs = node.inputs.map((v) => ctx.use(v, node));
  const y = ctx.define(node.outputs[0], node);
  const qo = ctx.quantOf(y);
  const params = [qo.zeroPoint, outer];
  inputs.forEach((t, k) => {
    const qi = ctx.quantOf(t);
    const m = quantizeMultiplier(qi.scale / qo.scale);
    params.push(ctx.shapeOf(node.inputs[k])[axis] * inner, qi.zeroPoint, m.multiplier, m.shift);
  });
  ctx.emit({ code: OpCode.CONCATENATION, inputs, outputs: [y], consts: [], params }, node, 0);
}
