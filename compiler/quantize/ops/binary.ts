// ONNX Add / Sub / Mul / Div-by-constant (numpy broadcasting) -> ADD / MUL, with a fused activation. A constant operand is quantized per tensor
// (asymmetric, from its own min/max). ADD follows TFLM: both inputs lifted by 2^20 and rescaled to
// twice the larger input scale before the sum is requantized; MUL requantizes the product by
// a_scale * b_scale / out_scale.
import { CompileError } from '../../ir/compile-error.ts';
import type { Node } from '../../ir/graph.ts';
import type { ConstantTensor } from '../../module/module-types.ts';
import { OpCode } from '../../module/opcodes.ts';
import { floatData, type LowerContext } from '../lower-context.ts';
import { activationQuant, quantizeValue, type TensorQuant } from '../quant-params.ts';
import { activationRange, readFusedActivation } from '../../ir/fused-activation.ts';
import { quantizeMultiplier } from '../quantize-multiplier.ts';

const ADD_LEFT_SHIFT = 20;

function constOperand(node: Node, ctx: LowerContext, name: string, map: (v: number) => number = (v) => v): { c: ConstantTensor; q: TensorQuant } {
  const t = ctx.initializer(name);
  if (!t) throw new CompileError('BAD_MODEL', `${node.op} node '${node.name}': '${name}' is neither defined nor constant`);
  const f = floatData(t, node).map(map);
  let mn = 0;
  let mx = 0;
  for (const v of f) { mn = Math.min(mn, v); mx = Math.max(mx, v); }
  const q = activationQuant(mn, mx);
  const data = new Int8Array(f.length);
  for (let i = 0; i < f.length; i++) data[i] = quantizeValue(f[i], q);
  return { c: { dtype: 'int8', shape: [...t.shape], data }, q };
}

export function lowerBinary(node: Node, ctx: LowerContext): void {
  const [na, nb] = node.inputs;
  const aConst = ctx.initializer(na) !== undefined;
  const bConst = ctx.initializer(nb) !== undefined;
  if (node.op === 'Div' && (!bConst || aConst)) throw new CompileError('UNSUPPORTED_OP', `Div node '${node.name}': only division by a constant`);
  if (aConst && bConst) throw new CompileError('UNSUPPORTED_OP', `${node.op} node '${node.name}': both operands constant (should have been folded)`);
  let layout: number;
  let inputs: number[];
  let consts: number[] = [];
  let qa: TensorQuant;
  let qb: TensorQuant;
  if (!aConst && !bConst) {
    layout = 0;
    inputs = [ctx.use(na, node), ctx.use(nb, node)];
    qa = ctx.quantOf(inputs[0]);
    qb = ctx.quantOf(inputs[1]);
  } else {
    const act = ctx.use(aConst ? nb : na, node);
    // x / c is x * (1 / c): a constant divisor becomes a MUL by its reciprocal
    const k = constOperand(node, ctx, aConst ? na : nb, node.op === 'Div' ? (v) => 1 / v : undefined);
    layout = aConst ? 2 : 1;
    inputs = [act];
    consts = [ctx.addConst(k.c)];
    [qa, qb] = aConst ? [k.q, ctx.quantOf(act)] : [ctx.quantOf(act), k.q];
  }
  const y = ctx.define(node.outputs[0], node);
  const qo = ctx.quantOf(y);
  const [lo, hi] = activationRange(readFusedActivation(node));
  const actMin = quantizeValue(lo, qo);
  const actMax = quantizeValue(hi, qo);
  const n = ctx.shapeOf(node.outputs[0]).reduce((p, d) => p * d, 1);
  if (node.op === 'Add' || node.op === 'Sub') {
    const twiceMax = 2 * Math.max(qa.scale, qb.scale);
    const ma = quantizeMultiplier(qa.scale / twiceMax);
    const mb = quantizeMultiplier(qb.scale / twiceMax);
    const mo = quantizeMultiplier(twiceMax / (2 ** ADD_LEFT_SHIFT * qo.scale));
    // a - b is ADD with b's multiplier negated: MultiplyByQuantizedMultiplier rounds half away from
    // zero, which is symmetric, so -m gives exactly the negated term (TFLM's SUB rescales the same way)
    const bMult = node.op === 'Sub' ? -mb.multiplier : mb.multiplier;
    const params = [layout, qa.zeroPoint, qb.zeroPoint, qo.zeroPoint, ADD_LEFT_SHIFT, ma.multiplier, ma.shift, bMult, mb.shift, mo.multiplier, mo.shift, actMin, actMax];
    ctx.emit({ code: OpCode.ADD, inputs, outputs: [y], consts, params }, node, 0);
  } else {
    const mo = quantizeMultiplier((qa.scale * qb.scale) / qo.scale);
    const params = [layout, qa.zeroPoint, qb.zeroPoint, qo.zeroPoint, mo.multiplier, mo.shift, actMin, actMax];
    ctx.emit({ code: OpCode.MUL, inputs, outputs: [y], consts, params }, node, n);
  }
}
